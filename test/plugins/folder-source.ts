/**
 * A small source plugin for the kernel's tests: `test:/abs/folder` resolves to the files of that folder.
 * Options inject what the tests need: a failure at a chosen stage, a slow fetch (to interrupt), a license.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelImportError, type ModelImportPlugin, type PlannedFile, type SourcePlan } from '../../src/index.js';

export interface FolderSourceOptions {
  failAt?: 'resolve' | 'authorize' | 'fetch';
  /** Milliseconds to wait between 64 KB chunks while fetching (lets a test interrupt mid-download). */
  chunkDelayMs?: number;
  /** Milliseconds of busy work (the event loop blocked, as by a native call) per chunk. */
  chunkBusyMs?: number;
  license?: { id?: string; name?: string; link?: string };
  /** Declare every file this many times larger than it is (a listing that would not fit on the disk). */
  inflateSizes?: number;
}

const NAME = 'test/folder-source';

export function folderSource(options: FolderSourceOptions = {}): ModelImportPlugin {
  return {
    name: NAME,
    kind: 'source',
    claims: ['test:<folder>'],
    apply({ hooks }) {
      hooks.resolve.tapPromise(NAME, async (request) => {
        if (!request.spec.startsWith('test:')) return undefined;
        if (options.failAt === 'resolve') throw new ModelImportError('REPO_NOT_FOUND', 'injected failure in resolve');
        const root = request.spec.slice('test:'.length);
        const names = (await fs.readdir(root)).sort();
        const files: PlannedFile[] = [];
        for (const name of names) {
          const stat = await fs.stat(path.join(root, name));
          files.push({ path: name, size: stat.size * (options.inflateSizes ?? 1), role: name === 'config.json' ? 'config' : name.endsWith('.safetensors') ? 'weights' : 'other' });
        }
        const config = JSON.parse(await fs.readFile(path.join(root, 'config.json'), 'utf8'));
        const plan: SourcePlan = {
          source: 'test',
          resolvedBy: NAME,
          modelId: `test/${path.basename(root)}`,
          revision: 'main',
          config,
          files,
          license: options.license ?? { id: 'apache-2.0', name: 'apache-2.0' },
          data: { root },
        };
        return plan;
      });
      hooks.authorize.tapPromise(NAME, async (plan) => {
        if (plan.resolvedBy !== NAME) return;
        if (options.failAt === 'authorize') throw new ModelImportError('ACCESS_DENIED', 'injected failure in authorize');
      });
      hooks.fetch.tapPromise(NAME, async (plan, context) => {
        if (plan.resolvedBy !== NAME) return undefined;
        const root = plan.data.root as string;
        const { createHash } = await import('node:crypto');
        const fetched = [];
        for (const file of plan.files) {
          const bytes = await fs.readFile(path.join(root, file.path));
          const task = context.reporter.task(file.path, bytes.length, 'download');
          const target = path.join(context.rawDir, file.path);
          const handle = await fs.open(target, 'w');
          try {
            for (let offset = 0; offset < bytes.length; offset += 65536) {
              context.signal.throwIfAborted();
              if (options.failAt === 'fetch' && offset > 0) throw new ModelImportError('NETWORK', `injected failure in fetch of ${file.path}`);
              const chunk = bytes.subarray(offset, offset + 65536);
              await handle.write(chunk);
              task.advance(chunk.length);
              if (options.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, options.chunkDelayMs));
              for (const until = Date.now() + (options.chunkBusyMs ?? 0); Date.now() < until; ) {
                // blocked, as in a native call on this thread
              }
            }
            if (options.failAt === 'fetch') throw new ModelImportError('NETWORK', `injected failure in fetch of ${file.path}`);
          } finally {
            await handle.close();
          }
          task.end();
          fetched.push({ path: file.path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
        }
        return { files: fetched, bytesDownloaded: fetched.reduce((s, f) => s + f.size, 0) };
      });
    },
  };
}

export default folderSource;
