/** The one name every tap of this plugin uses (webpack's `PLUGIN_NAME` convention). */
export const NAME = 'model-import/arch-qwen';
