import { describe, expect, it } from 'vitest';
import { isModelImportError } from '../../../src/index.js';
import { ProxyEnv, parseProxyUrl } from './proxy-env.js';

const via = (env: Record<string, string>, url: string) => new ProxyEnv(env).for(new URL(url));
const bypassed = (noProxy: string, url: string) => new ProxyEnv({ HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128', NO_PROXY: noProxy }).for(new URL(url)) === undefined;

describe('ProxyEnv', () => {
  it('picks the variable by scheme, lower case first, ALL_PROXY last; empty counts as unset', () => {
    expect(via({ HTTPS_PROXY: 'http://a:1', HTTP_PROXY: 'http://b:2' }, 'https://huggingface.co/x')).toMatchObject({ host: 'a', port: 1, variable: 'HTTPS_PROXY' });
    expect(via({ HTTPS_PROXY: 'http://a:1', HTTP_PROXY: 'http://b:2' }, 'http://mirror.local/x')).toMatchObject({ host: 'b', port: 2, variable: 'HTTP_PROXY' });
    expect(via({ https_proxy: 'http://low:1', HTTPS_PROXY: 'http://up:2' }, 'https://h/')?.variable).toBe('https_proxy');
    expect(via({ https_proxy: '  ', HTTPS_PROXY: 'http://up:2' }, 'https://h/')?.variable).toBe('HTTPS_PROXY');
    expect(via({ ALL_PROXY: 'http://all:9' }, 'https://h/')).toMatchObject({ host: 'all', variable: 'ALL_PROXY' });
    expect(via({ all_proxy: 'http://all:9', HTTP_PROXY: 'http://b:2' }, 'http://h/')?.variable).toBe('HTTP_PROXY');
    expect(via({ HTTP_PROXY: 'http://b:2' }, 'https://h/')).toBeUndefined(); // HTTP_PROXY is for http:// only
    expect(via({}, 'https://h/')).toBeUndefined();
  });

  it('reads proxy URLs: bare host:port means http, port 80 by default, credentials become Basic, IPv6', () => {
    expect(parseProxyUrl('HTTPS_PROXY', 'proxy.corp:8080')).toEqual({ host: 'proxy.corp', port: 8080, label: 'proxy.corp:8080', variable: 'HTTPS_PROXY' });
    expect(parseProxyUrl('HTTPS_PROXY', 'http://proxy.corp')).toMatchObject({ port: 80, label: 'proxy.corp:80' });
    expect(parseProxyUrl('HTTPS_PROXY', 'http://[::1]:3128/')).toMatchObject({ host: '::1', label: '[::1]:3128' });
    const withAuth = parseProxyUrl('HTTPS_PROXY', 'http://us%40er:p%3Ass@proxy:3128');
    expect(withAuth.authorization).toBe(`Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
    expect(withAuth.label).toBe('proxy:3128');
  });

  it('refuses unusable proxy URLs with CONFIG_INVALID, never echoing credentials', () => {
    for (const [raw, pattern] of [
      ['socks5://user:s3cret@proxy:1080', /socks5:\/\/ proxy; only HTTP proxies/],
      ['https://proxy:443', /https:\/\/ proxy/],
      ['http://user:s3cret@[bad', /not a valid proxy URL: \(value not shown/],
      ['http://[bad', /not a valid proxy URL: "http:\/\/\[bad"/],
    ] as const) {
      let error: unknown;
      try {
        via({ HTTPS_PROXY: raw }, 'https://huggingface.co/');
      } catch (e) {
        error = e;
      }
      expect(isModelImportError(error) && error.code).toBe('CONFIG_INVALID');
      const text = `${(error as Error).message}\n${(error as { hint?: string }).hint}`;
      expect(text).toMatch(pattern);
      expect(text).not.toContain('s3cret');
    }
    // A broken proxy for a host NO_PROXY bypasses is never read.
    expect(via({ HTTPS_PROXY: 'socks5://x:1', NO_PROXY: 'huggingface.co' }, 'https://huggingface.co/')).toBeUndefined();
  });

  it("NO_PROXY follows curl: '*', domain suffixes (leading dot optional), exact addresses and CIDR, no implicit loopback", () => {
    expect(bypassed('*', 'https://huggingface.co/')).toBe(true);
    expect(bypassed('huggingface.co', 'https://huggingface.co/')).toBe(true);
    expect(bypassed('huggingface.co', 'https://cdn-lfs.huggingface.co/')).toBe(true);
    expect(bypassed('.huggingface.co', 'https://huggingface.co/')).toBe(true);
    expect(bypassed('HuggingFace.CO.', 'https://huggingface.co./')).toBe(true);
    expect(bypassed('huggingface.co', 'https://nothuggingface.co/')).toBe(false);
    expect(bypassed('face.co', 'https://huggingface.co/')).toBe(false);
    expect(bypassed('co', 'https://huggingface.co/')).toBe(true); // a suffix is a suffix, as in curl
    expect(bypassed('example.com, hf-mirror.com ,,', 'https://hf-mirror.com/')).toBe(true);
    expect(bypassed('localhost', 'http://127.0.0.1:8080/')).toBe(false); // a name never matches an address
    expect(bypassed('example.com', 'http://localhost/')).toBe(false); // loopback is not special
    expect(bypassed('', 'http://127.0.0.1/')).toBe(false);
    expect(bypassed('127.0.0.1', 'http://127.0.0.1:8080/')).toBe(true);
    expect(bypassed('10.0.0.0/8', 'http://10.20.30.40/')).toBe(true);
    expect(bypassed('10.0.0.0/8', 'http://11.0.0.1/')).toBe(false);
    expect(bypassed('::1', 'http://[::1]:8080/')).toBe(true);
    expect(bypassed('[::1]', 'http://[::1]:8080/')).toBe(true);
    expect(bypassed('fe80::/10', 'http://[fe80::1]/')).toBe(true);
    expect(bypassed('*.example.com', 'https://www.example.com/')).toBe(false); // not a curl pattern
    expect(bypassed('example.com,*', 'https://other.org/')).toBe(false); // '*' only alone
  });

  it('NO_PROXY entries with a port match that port only (default ports count)', () => {
    expect(bypassed('127.0.0.1:8080', 'http://127.0.0.1:8080/')).toBe(true);
    expect(bypassed('127.0.0.1:8080', 'http://127.0.0.1:9090/')).toBe(false);
    expect(bypassed('huggingface.co:443', 'https://huggingface.co/')).toBe(true);
    expect(bypassed('huggingface.co:80', 'https://huggingface.co/')).toBe(false);
    expect(bypassed('[::1]:8080', 'http://[::1]:8080/')).toBe(true);
    expect(bypassed('[::1]:8080', 'http://[::1]:8081/')).toBe(false);
  });

  it('no_proxy wins over NO_PROXY', () => {
    const env = { HTTPS_PROXY: 'http://p:1', no_proxy: 'a.com', NO_PROXY: 'b.com' };
    expect(new ProxyEnv(env).for(new URL('https://a.com/'))).toBeUndefined();
    expect(new ProxyEnv(env).for(new URL('https://b.com/'))).toBeDefined();
  });
});
