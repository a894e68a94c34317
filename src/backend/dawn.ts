/**
 * Dawn (the `webgpu` package, an optional peer dependency) as `navigator.gpu` in Node: installed
 * in this process for the WebGPU backend, or only asked in a child process what adapter it would
 * give, so that 'auto' can pass over a software rasteriser without Dawn's native messages (Vulkan
 * loader warnings, limit adjustments) reaching this process's stderr.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { adapterInfo } from './select.js';
import type { AdapterInfo, RawAdapter } from './select.js';

/** How to get Dawn, for the error that says it is missing. */
export const DAWN_INSTALL = "npm install webgpu (Dawn's prebuilt WebGPU for Node)";

/**
 * The URL of the `webgpu` package's entry as resolved from `from` (this module), or an Error
 * saying it is not installed. Imported by that URL, not by name, so that bundlers building the
 * Node entry leave the optional native package alone.
 */
export function dawnUrl(from: string = import.meta.url): string {
  try {
    return pathToFileURL(createRequire(from).resolve('webgpu')).href;
  } catch {
    throw new Error("the 'webgpu' package (Dawn) is not installed");
  }
}

// Dawn keeps per-user state under XDG_RUNTIME_DIR and warns when it is unset.
const runtimeDir = (): string => process.env.XDG_RUNTIME_DIR ?? os.tmpdir();

/** Dawn's navigator.gpu in this process, for tfjs's WebGPU backend. */
export async function installDawn(): Promise<void> {
  const url = dawnUrl();
  process.env.XDG_RUNTIME_DIR = runtimeDir();
  const dawn = (await import(url)) as { create(flags: string[]): unknown; globals: object };
  Object.assign(globalThis, dawn.globals);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: dawn.create([]), configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true, writable: true });
}

/** Run in the child: one line of JSON, the adapter's info or null. */
const PROBE = `
const dawn = await import(process.argv[1]);
const a = await dawn.create([]).requestAdapter();
const info = a && a.info ? { vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device, description: a.info.description } : {};
process.stdout.write(JSON.stringify(a ? { info, isFallbackAdapter: a.isFallbackAdapter === true } : null) + '\\n');
process.exit(0);
`;

/**
 * The adapter Dawn would give, asked in a child Node process (≈ 0.5 s) whose stderr is kept
 * from this one's; Dawn's first message is quoted in the error when it finds none.
 */
export async function probeDawn(): Promise<AdapterInfo> {
  const url = dawnUrl();
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', PROBE, url], { env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir() }, timeout: 30_000 }, (_err, out, err) =>
      resolve({ stdout: String(out), stderr: String(err) }),
    );
  });
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let adapter: RawAdapter | null | undefined;
  try {
    adapter = JSON.parse(line) as RawAdapter | null;
  } catch {
    adapter = undefined;
  }
  const said = stderr.split('\n').map((l) => l.trim()).find((l) => l) ?? '';
  if (adapter === undefined) throw new Error(`probing Dawn failed${said ? ` (${said})` : ''}`);
  if (adapter === null) throw new Error(`navigator.gpu.requestAdapter() found no adapter${said ? ` (Dawn: ${said})` : ''}`);
  return adapterInfo(adapter);
}
