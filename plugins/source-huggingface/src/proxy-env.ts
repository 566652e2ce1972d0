/**
 * Which HTTP proxy a request goes through, from the environment (context.env, never process.env), the way curl
 * and the Python client (`hf download`) read it:
 * - https:// URLs: https_proxy, HTTPS_PROXY, then all_proxy, ALL_PROXY; http:// URLs: http_proxy, HTTP_PROXY,
 *   then all_proxy, ALL_PROXY. Lower case wins over upper case; an empty value counts as unset. (curl ignores
 *   upper-case HTTP_PROXY, a CGI precaution; Python honours it, and so do we: this is no CGI program.)
 * - A proxy is an http:// URL (a bare host:port means http://); the port defaults to 80 as in Python.
 *   User and password in it become Proxy-Authorization: Basic. https:// and socks proxies are refused with a
 *   clear error rather than silently bypassed.
 * - no_proxy / NO_PROXY, curl's rules: `*` alone bypasses every host; otherwise comma-separated entries, each a
 *   host name that matches itself and its subdomains (`example.com` and `.example.com` both match example.com and
 *   www.example.com, not notexample.com; case and trailing dots ignored), or an IP address or CIDR block
 *   (`10.0.0.0/8`, `fe80::/10`) compared as addresses. A name never matches an address: `localhost` does not
 *   cover 127.0.0.1 and loopback is not bypassed unless listed. One addition curl lacks and Python has:
 *   `entry:port` (or `[v6]:port`) matches that port only.
 */
import net from 'node:net';
import { ModelImportError } from '../../../src/index.js';
import type { Env } from './hub-env.js';

export interface Proxy {
  /** Host to connect to (no brackets around IPv6). */
  host: string;
  port: number;
  /** `host:port`, what messages show: never the credentials. */
  label: string;
  /** The variable the proxy came from (HTTPS_PROXY, http_proxy, ...). */
  variable: string;
  /** `Basic ...` when the proxy URL carried credentials. */
  authorization?: string;
}

interface NoProxyEntry {
  /** Lower case, no leading or trailing dot, no brackets. */
  host: string;
  port?: number;
  /** For address entries: the block it covers. */
  block?: net.BlockList;
}

const VARIABLES = {
  'https:': ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'],
  'http:': ['http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'],
} as const;

export class ProxyEnv {
  private readonly values = new Map<string, string>();
  private readonly bypassAll: boolean;
  private readonly noProxy: NoProxyEntry[];
  private readonly parsed = new Map<string, Proxy>();

  constructor(env: Env) {
    for (const name of new Set(Object.values(VARIABLES).flat())) {
      const value = env[name]?.trim();
      if (value) this.values.set(name, value);
    }
    const noProxy = (env.no_proxy?.trim() || env.NO_PROXY?.trim()) ?? '';
    this.bypassAll = noProxy === '*';
    this.noProxy = this.bypassAll ? [] : noProxy.split(',').flatMap((raw) => parseNoProxyEntry(raw) ?? []);
  }

  /** The proxy for this URL, or undefined to connect directly. Throws CONFIG_INVALID for an unusable proxy URL. */
  for(url: URL): Proxy | undefined {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    const variable = VARIABLES[url.protocol].find((name) => this.values.has(name));
    if (!variable || this.bypasses(url)) return undefined;
    let proxy = this.parsed.get(variable);
    if (!proxy) {
      proxy = parseProxyUrl(variable, this.values.get(variable)!);
      this.parsed.set(variable, proxy);
    }
    return proxy;
  }

  /** NO_PROXY says this URL's host (and port) is reached directly. */
  bypasses(url: URL): boolean {
    if (this.bypassAll) return true;
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const family = net.isIPv4(host) ? 'ipv4' : net.isIPv6(host) ? 'ipv6' : undefined;
    return this.noProxy.some((entry) => {
      if (entry.port !== undefined && entry.port !== port) return false;
      if (family) return entry.block?.check(host, family) ?? false;
      return host === entry.host || host.endsWith(`.${entry.host}`);
    });
  }
}

function parseNoProxyEntry(raw: string): NoProxyEntry | undefined {
  let text = raw.trim().toLowerCase();
  if (!text) return undefined;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const colons = text.split(':').length - 1;
  if (bracketed) {
    text = bracketed[1];
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if (colons === 1) {
    const [host, portText] = text.split(':');
    if (!/^\d+$/.test(portText)) return undefined; // not something we can match; curl ignores it too
    text = host;
    port = Number(portText);
  }
  const host = text.replace(/^\.+/, '').replace(/\.+$/, '');
  if (!host) return undefined;
  return { host, ...(port !== undefined ? { port } : {}), ...addressBlock(host) };
}

/** An address or CIDR entry as a block list; a malformed one matches no address (as in curl). */
function addressBlock(text: string): { block?: net.BlockList } {
  const [address, bitsText, ...rest] = text.split('/');
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  if (!family || rest.length) return {};
  const max = family === 'ipv4' ? 32 : 128;
  const bits = bitsText === undefined ? max : /^\d+$/.test(bitsText) ? Number(bitsText) : NaN;
  if (!(bits >= 0 && bits <= max)) return {};
  const block = new net.BlockList();
  block.addSubnet(address, bits, family);
  return { block };
}

export function parseProxyUrl(variable: string, raw: string): Proxy {
  // The value may hold a password: it is shown only when it has no '@'.
  const shown = raw.includes('@') ? '(value not shown: it holds credentials)' : JSON.stringify(raw);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw badProxy(variable, `${variable} is not a valid proxy URL: ${shown}.`);
  }
  if (url.protocol !== 'http:') {
    throw badProxy(variable, `${variable} names a ${url.protocol}// proxy; only HTTP proxies (http://host:port) are supported.`);
  }
  if (!url.hostname) throw badProxy(variable, `${variable} has no proxy host: ${shown}.`);
  const port = Number(url.port) || 80;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let authorization: string | undefined;
  if (url.username || url.password) {
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    authorization = `Basic ${Buffer.from(`${decode(url.username)}:${decode(url.password)}`).toString('base64')}`;
  }
  return { host, port, label: `${url.hostname}:${port}`, variable, ...(authorization ? { authorization } : {}) };
}

function badProxy(variable: string, message: string): ModelImportError {
  return new ModelImportError('CONFIG_INVALID', message, {
    hint: `Set ${variable} to http://host:port (or http://user:password@host:port), unset it, or list the hub's host in NO_PROXY.`,
    details: { variable },
  });
}
