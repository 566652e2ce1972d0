import { table } from '../render/format.js';
import { loadSession, type GlobalArgs } from '../setup.js';
import { printJson, reportError } from '../output.js';

/** Lists the loaded plugins: kind, origin and what each claims. */
export async function pluginsCommand(args: GlobalArgs): Promise<number> {
  try {
    const session = await loadSession(args);
    const plugins = session.kernel.plugins.map(({ plugin, origin }) => ({
      name: plugin.name,
      kind: plugin.kind ?? 'other',
      origin,
      claims: plugin.claims ?? [],
    }));
    const config = session.config.file ?? null;
    if (args.json) {
      printJson({ ok: true, config, plugins, architectures: session.kernel.supportedArchitectures() });
      return 0;
    }
    process.stdout.write(`Config: ${config ?? 'none found (built-in plugins)'}\n`);
    process.stdout.write(`${table(['plugin', 'kind', 'origin', 'claims'], plugins.map((p) => [p.name, p.kind, p.origin, p.claims.join(', ')]))}\n`);
    return 0;
  } catch (error) {
    return reportError(error, args);
  }
}
