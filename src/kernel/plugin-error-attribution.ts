/**
 * Wraps every tap of a kernel hook so that what a plugin throws reaches the user as that plugin's error (named,
 * with the hook it failed in), while an abort (Ctrl-C) passes through unchanged. Sync, async and promise taps.
 */
import { isAbortError, wrapPluginError } from './errors.js';

interface TapLike {
  name: string;
  type: 'sync' | 'async' | 'promise';
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  fn: Function;
}

/** The part of a tapable hook the kernel uses to wrap plugin errors, whatever the hook's argument types. */
interface InterceptableHook {
  intercept(interceptor: { register: (tap: TapLike) => TapLike }): void;
}

export function attributePluginErrors(hook: InterceptableHook, hookName: string): void {
  hook.intercept({
    register: (tap) => {
      const fn = tap.fn as (...args: unknown[]) => unknown;
      const plugin = tap.name;
      if (tap.type === 'promise') {
        tap.fn = (...args: unknown[]) => {
          try {
            return Promise.resolve(fn(...args)).catch((error: unknown) => {
              throw passThroughAbort(error, plugin, hookName);
            });
          } catch (error) {
            throw passThroughAbort(error, plugin, hookName);
          }
        };
      } else if (tap.type === 'sync') {
        tap.fn = (...args: unknown[]) => {
          try {
            return fn(...args);
          } catch (error) {
            throw passThroughAbort(error, plugin, hookName);
          }
        };
      } else {
        tap.fn = (...args: unknown[]) => {
          const callback = args.pop() as (error?: unknown, result?: unknown) => void;
          fn(...args, (error: unknown, result: unknown) =>
            error ? callback(passThroughAbort(error, plugin, hookName)) : callback(null, result),
          );
        };
      }
      return tap;
    },
  });
}

function passThroughAbort(error: unknown, plugin: string, hook: string): unknown {
  return isAbortError(error) ? error : wrapPluginError(error, plugin, hook);
}
