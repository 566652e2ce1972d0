/**
 * The environment the OCI tests run the CLI in: the fake hub, an HF home and Docker config inside the project
 * (never the user's), no hub token, and the test registry's credentials.
 */
import path from 'node:path';
import type { FakeHub } from '../fake-hub/index.js';
import type { RealRegistry } from '../../plugins/oci-registry/test-support/real-registry.js';

export function ociCliEnv(hub: FakeHub, registry: RealRegistry, project: string): Record<string, string | undefined> {
  return {
    HF_ENDPOINT: hub.url,
    HF_HOME: path.join(project, 'hf-home'),
    HF_TOKEN: undefined,
    HUGGING_FACE_HUB_TOKEN: undefined,
    DOCKER_CONFIG: path.join(project, 'docker'),
    MODEL_IMPORT_REGISTRY_USERNAME: registry.username,
    MODEL_IMPORT_REGISTRY_PASSWORD: registry.password,
  };
}
