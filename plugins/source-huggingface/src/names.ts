/** The one name every tap of this plugin uses (and that `SourcePlan.resolvedBy` carries). */
export const NAME = 'model-import/source-huggingface';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
