/**
 * Injected faults for file content responses. A fault is chosen when a response is about to start, so concurrent
 * requests each see a definite outcome, and `times` is spent only when the fault can really apply.
 */
import type { Fault } from './types.js';

interface Armed {
  fault: Fault;
  remaining: number;
}

export class FaultRegistry {
  private armed: Armed[] = [];

  inject(fault: Fault): void {
    validate(fault);
    this.armed.push({ fault, remaining: fault.times ?? Infinity });
  }

  clear(): void {
    this.armed = [];
  }

  /**
   * The fault for a response to `urlPath` (decoded) whose body will be `bodyLength` bytes, or undefined.
   * HEAD responses have no body, so only status and reset faults apply to them.
   */
  take(urlPath: string, bodyLength: number, isHead: boolean): Fault | undefined {
    for (const armed of this.armed) {
      if (armed.remaining <= 0) continue;
      const { fault } = armed;
      if (!matches(fault.path, urlPath)) continue;
      if (fault.kind === 'drop-after' && (isHead || bodyLength <= fault.bytes)) continue;
      if (fault.kind === 'stall' && (isHead || bodyLength <= fault.afterBytes)) continue;
      armed.remaining -= 1;
      return fault;
    }
    return undefined;
  }
}

function matches(pattern: string | RegExp | undefined, urlPath: string): boolean {
  if (pattern === undefined) return true;
  if (typeof pattern === 'string') return urlPath.includes(pattern);
  pattern.lastIndex = 0; // a /g or /y RegExp keeps state between test() calls
  return pattern.test(urlPath);
}

function validate(fault: Fault): void {
  const bad = (what: string) => new Error(`fake hub: bad ${fault.kind} fault: ${what}`);
  if (fault.times !== undefined && !(fault.times >= 0)) throw bad('times must be >= 0');
  if (fault.kind === 'drop-after' && !(fault.bytes >= 0)) throw bad('bytes must be >= 0');
  if (fault.kind === 'stall' && !(fault.afterBytes >= 0 && fault.ms >= 0)) throw bad('afterBytes and ms must be >= 0');
  if (fault.kind === 'status' && !(Number.isInteger(fault.status) && fault.status >= 400 && fault.status <= 599)) {
    throw bad('status must be 4xx or 5xx');
  }
}
