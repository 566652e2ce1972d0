/**
 * The OCI rows of `npm run bench`, on the same 0.5B-shaped model and a real docker-registry on loopback (a
 * fresh one per run, so nothing is already there): push against curl uploading the same blobs with one
 * monolithic PUT each, a re-push of the unchanged model, pull (the import's fetch stage, digest-checked while
 * streaming) against `curl | tee | openssl dgst -sha256` of the same blobs, and peak RSS of push and pull.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { measure } from './measure.js';
import { startRegistry } from '../plugins/oci-registry/test-support/real-registry.js';

export interface OciBenchInput {
  bin: string;
  benchDir: string;
  hubUrl: string;
  repo: string;
  push: (key: string, value: number) => void;
}

interface FileEntry {
  path: string;
  size: number;
  sha256: string;
}

/** Imports the model once into .bench/models-oci (kept between runs of the loop). */
export async function prepareOciSource(input: OciBenchInput): Promise<{ modelsDir: string; files: FileEntry[] }> {
  const modelsDir = path.join(input.benchDir, 'models-oci');
  await fs.rm(modelsDir, { recursive: true, force: true });
  const result = await measure(process.execPath, [input.bin, 'import-model', input.repo, '--yes', '--json', '--skip-validation', '--models-dir', modelsDir, '--name', 'bench'], {
    env: { HF_ENDPOINT: input.hubUrl, HF_HOME: path.join(input.benchDir, 'hf-home'), HF_TOKEN: undefined },
  });
  const entry = JSON.parse(result.stdout).model as { files: FileEntry[] };
  return { modelsDir, files: entry.files };
}

/**
 * Every step writes about 1 GB (the registry's storage, or our models folder); the page cache here throttles
 * writers once a few GB are dirty, which would punish whichever step comes later. So each timed step starts
 * after `sync`, with no dirty pages left by the one before.
 */
async function settled<T>(step: () => Promise<T>): Promise<T> {
  await measure('sync', []);
  return step();
}

export async function ociBenchRun(input: OciBenchInput, source: { modelsDir: string; files: FileEntry[] }): Promise<void> {
  const registry = await startRegistry();
  const env = { MODEL_IMPORT_REGISTRY_USERNAME: registry.username, MODEL_IMPORT_REGISTRY_PASSWORD: registry.password, DOCKER_CONFIG: path.join(input.benchDir, 'no-docker') };
  const scratch = path.join(input.benchDir, 'oci-scratch.bin');
  try {
    // Baseline: the same blobs, each as POST + one monolithic PUT streamed by curl (no chunks, no hashing).
    const auth = `${registry.username}:${registry.password}`;
    const modelDir = path.join(source.modelsDir, 'bench');
    const script = source.files
      .map((f) => {
        const file = path.join(modelDir, f.path);
        return `loc=$(curl -sf -u "$AUTH" -X POST -D - -o /dev/null "${registry.url}/v2/baseline/m/blobs/uploads/" | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p'); ` +
          `curl -sf -u "$AUTH" -X PUT -H 'content-type: application/octet-stream' -T "${file}" "$loc&digest=sha256:${f.sha256}" -o /dev/null`;
      })
      .join('\n');
    const curlPut = await settled(() => measure('bash', ['-c', `set -euo pipefail\n${script}`], { env: { AUTH: auth } }));
    input.push('oci.curl.put.ms', curlPut.wallMs);

    const target = `${registry.host}/bench/m:v1`;
    const push = await settled(() => measure(process.execPath, [input.bin, 'push', 'bench', target, '--models-dir', source.modelsDir, '--json'], { env }));
    input.push('oci.push.ms', push.wallMs);
    input.push('oci.push.rss', push.peakRssBytes);
    const again = await settled(() => measure(process.execPath, [input.bin, 'push', 'bench', target, '--models-dir', source.modelsDir, '--json'], { env }));
    input.push('oci.repush.ms', again.wallMs);

    // The same push in 4 MiB chunks (what GHCR-style chunk limits need, and the fallback after a 413) into a second
    // fresh registry: the registry's cost per request.
    const big = await startRegistry({ username: registry.username, password: registry.password });
    try {
      const chunked = await settled(() => measure(process.execPath, [input.bin, 'push', 'bench', `${big.host}/bench/m:v1`, '--models-dir', source.modelsDir, '--json', '--chunk-size', '4MiB'], { env }));
      input.push('oci.push.4m.ms', chunked.wallMs);
    } finally {
      await big.close();
    }

    const weights = source.files.find((f) => f.path === 'model.safetensors')!;
    const curlGet = await settled(() => measure('bash', ['-c', `set -o pipefail; curl -sfL -u "$AUTH" "${registry.url}/v2/bench/m/blobs/sha256:${weights.sha256}" | tee "${scratch}" | openssl dgst -sha256`], { env: { AUTH: auth } }));
    input.push('oci.curl.get.ms', curlGet.wallMs);

    const pullDir = path.join(input.benchDir, 'models-oci-pull');
    await fs.rm(pullDir, { recursive: true, force: true });
    let fetchStart = 0;
    let fetchMs = NaN;
    let inFetch = false;
    let fetchRss = 0;
    const pull = await settled(() => measure(process.execPath, [input.bin, 'import-model', `oci://${target}`, '--yes', '--json', '--models-dir', pullDir], {
      env,
      onStderrLine: (line) => {
        if (!line.startsWith('{')) return;
        const event = JSON.parse(line) as { type: string; stage?: string; status?: string; time: string };
        if (event.type !== 'stage' || event.stage !== 'fetch') return;
        if (event.status === 'start') {
          fetchStart = Date.parse(event.time);
          inFetch = true;
        } else {
          fetchMs = Date.parse(event.time) - fetchStart;
          inFetch = false;
        }
      },
      onRss: (bytes) => {
        if (inFetch) fetchRss = Math.max(fetchRss, bytes);
      },
    }));
    input.push('oci.pull.fetch.ms', fetchMs);
    input.push('oci.pull.fetch.rss', fetchRss);
    input.push('oci.pull.ms', pull.wallMs);
    await fs.rm(pullDir, { recursive: true, force: true });
  } finally {
    await registry.close();
    await fs.rm(scratch, { force: true });
  }
}
