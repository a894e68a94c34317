/**
 * The type of `#tf-gradients` (package.json `imports`, condition `types`): a module imported only
 * for its side effect — registering tfjs-core's gradients — which exports nothing. At run time
 * the import resolves to `@tensorflow/tfjs-layers` in Node and to tfjs-core's
 * `dist/register_all_gradients` elsewhere (see ./engine.ts); type checkers and package linters
 * resolve it here, inside the package.
 */
export {};
