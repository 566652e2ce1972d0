import { ModelImportError } from '../../kernel/errors.js';
import { attachTerminalRenderer, renderFindings } from '../render/terminal-renderer.js';
import { loadSession, type GlobalArgs } from '../setup.js';
import { printJson, reportError } from '../output.js';
import { parseSize } from '../parse-size.js';
import { terminalSafe } from '../../util/terminal-text.js';

/** Re-runs the validate stage on a registered model: integrity (sha256 of every file), load, forward pass. */
export async function verifyCommand(args: GlobalArgs & { name: string; maxMemory?: string }): Promise<number> {
  let detach = () => {};
  try {
    const session = await loadSession(args);
    // Each check on stderr as it starts and ends (the table of results goes to stdout at the end).
    detach = args.json ? () => {} : attachTerminalRenderer(session.reporter);
    const { entry, report } = await session.kernel.verifyModel(args.name, {
      reporter: session.reporter,
      prompter: session.prompter,
      settings: session.settings,
      options: {
        modelsDir: session.modelsDir,
        yes: true,
        acceptLicense: true,
        skipValidation: false,
        maxMemory: args.maxMemory ? parseSize(args.maxMemory, '--max-memory') : undefined,
      },
    });
    detach();
    if (args.json) printJson({ ok: report.passed, model: entry.model_name, findings: report.findings, figures: report.figures });
    else process.stdout.write(terminalSafe(`Verifying "${entry.model_name}" (${entry.model_id})\n${renderFindings(report.findings)}\n`));
    if (!report.passed) {
      const failed = report.failures.map((f) => `${f.check}: ${f.message ?? 'failed'}`).join('; ');
      const error = new ModelImportError('VALIDATION_FAILED', `Model "${entry.model_name}" failed verification: ${failed}.`, {
        hint: 'Re-import it (model-import import-model <repo> --on-duplicate overwrite) to restore a good copy.',
      });
      return reportError(error, { ...args, json: false });
    }
    if (!args.json) process.stdout.write(terminalSafe(`"${entry.model_name}" is intact and runs.\n`));
    return 0;
  } catch (error) {
    detach();
    return reportError(error, args);
  }
}
