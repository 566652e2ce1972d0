/** The plugin name: used in every tap and as the `validator` of every finding this plugin adds. */
export const VALIDATOR = 'model-import/validator-forward';
