/**
 * Bundles an entry of the library for browsers with vite's build API and lists every Node
 * built-in (or Node-only package) the bundle's module graph asks for, with the module that asks.
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build } from 'vite';

/** Packages that run only in Node (native addons, Dawn, CLI). */
export const NODE_ONLY_PACKAGES = ['webgpu', '@resvg/resvg-js', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'commander'];

export interface NodeImport {
  id: string;
  importer: string;
  /** The importing package maps this id to `false` in its package.json "browser" field. */
  declaredBrowserFalse: boolean;
}

const isBuiltin = (id: string) => id.startsWith('node:') || builtinModules.includes(id.split('/')[0]!);
const isNodeOnlyPackage = (id: string) => NODE_ONLY_PACKAGES.some((p) => id === p || id.startsWith(`${p}/`));

/** The package.json "browser" field of the package that holds `file`. */
function browserField(file: string): Record<string, unknown> {
  let dir = path.dirname(file);
  while (dir !== path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; browser?: unknown };
      if (pkg.name) return typeof pkg.browser === 'object' && pkg.browser ? (pkg.browser as Record<string, unknown>) : {};
    } catch {
      // no package.json here: go up
    }
    dir = path.dirname(dir);
  }
  return {};
}

/** Builds `entry` (relative to `root`) as an ES library for browsers into `outDir`. */
export async function bundleForBrowser(root: string, entry: string, outDir: string): Promise<{ imports: NodeImport[]; modules: string[]; warnings: string[]; code: string }> {
  const imports: NodeImport[] = [];
  const warnings: string[] = [];
  let modules: string[] = [];
  let code = '';
  await build({
    root,
    configFile: false,
    logLevel: 'silent',
    build: { lib: { entry: path.join(root, entry), formats: ['es'], fileName: 'bundle' }, outDir, emptyOutDir: true, minify: false, write: true },
    plugins: [
      {
        name: 'record-node-imports',
        enforce: 'pre',
        resolveId(id, importer) {
          if (importer && (isBuiltin(id) || isNodeOnlyPackage(id))) {
            imports.push({ id, importer, declaredBrowserFalse: browserField(importer)[id] === false });
          }
          // Recorded; kept out so that the build of an entry that wrongly needs one still finishes.
          return isNodeOnlyPackage(id) ? { id, external: true } : null;
        },
        generateBundle(_options, bundle) {
          modules = [...this.getModuleIds()];
          // What is left after tree-shaking (the module graph above also holds what was dropped).
          code = Object.values(bundle).map((c) => (c.type === 'chunk' ? c.code : '')).join('\n');
        },
      },
    ],
    customLogger: {
      info: () => {},
      warn: (msg) => warnings.push(msg),
      warnOnce: (msg) => warnings.push(msg),
      error: (msg) => warnings.push(msg),
      clearScreen: () => {},
      hasErrorLogged: () => false,
      hasWarned: false,
    },
  });
  return { imports, modules, warnings, code };
}
