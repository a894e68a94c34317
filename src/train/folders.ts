/**
 * Writing folders without ever losing a user's data.
 *
 * The rule every writer in biflow follows: a save may replace only what biflow itself wrote there
 * before. A folder qualifies when each file in it is one its own record (flow.json, train.json)
 * lists; anything else — a folder holding other files, a regular file, the data being trained on —
 * is refused with an {@link OutputPathError} before any work starts, and nothing is touched.
 *
 * Replacing is atomic: the new contents go to a sibling temporary folder that is swapped in, so a
 * crash leaves the old folder or the new one, and the temporary folders are removed on every path
 * (a failure, and SIGINT/SIGTERM while a write is under way).
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { BiflowError } from '../errors.js';

/** An output path that biflow will not write: it holds something biflow did not write. */
export class OutputPathError extends BiflowError {
  constructor(
    /** The function or command that refused, e.g. `saveFlow` or `biflow train`. */
    readonly fn: string,
    /** The refused path. */
    readonly path: string,
    problem: string,
    fix: string,
  ) {
    super(`${fn}: ${path} ${problem}; nothing was written. ${fix}`);
  }
}

/** Every file under `dir`, as paths relative to it with '/' separators (folders are not listed). */
export function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]);
}

/** What is at `target`: nothing (or an empty folder), a folder with its files, or something else. */
export function inspectTarget(target: string): { kind: 'none' } | { kind: 'folder'; files: string[] } | { kind: 'other' } {
  if (!existsSync(target)) return { kind: 'none' };
  if (!statSync(target).isDirectory()) return { kind: 'other' };
  const files = listFiles(target);
  return files.length ? { kind: 'folder', files } : { kind: 'none' };
}

/** A short list of paths for a message: the first few, then how many more. */
export const someFiles = (files: readonly string[]): string =>
  `${files.slice(0, 3).join(', ')}${files.length > 3 ? ` and ${files.length - 3} more` : ''}`;

/** Work to undo if the process is interrupted: removing temporary folders, releasing locks. */
const onInterrupt = new Set<() => void>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

let dying = false;

/** Thrown by a folder write that notices the process is being interrupted. */
const interruptedError = () => new BiflowError('writeFolderAtomically: interrupted (SIGINT/SIGTERM); nothing was replaced.');

function interrupted(signal: NodeJS.Signals): void {
  if (dying) return;
  dying = true;
  // No JS runs in between (a handler runs between callbacks), but file-system calls already
  // handed to libuv's thread pool (a mkdir of a temporary folder, a rename) can still land. Give
  // them a moment — a folder write resumed meanwhile sees `dying` and backs out, see
  // writeFolderAtomically — then undo what is left (every undo is idempotent), and die of the
  // signal as the process would have without us, unless someone else handles it.
  setTimeout(() => {
    for (const undo of onInterrupt) {
      try {
        undo();
      } catch {
        // Best effort: the process is going down; one failed clean-up must not stop the others.
      }
    }
    onInterrupt.clear();
    SIGNALS.forEach((s) => process.removeListener(s, interrupted));
    dying = false;
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  }, 100);
}

/**
 * Runs `undo` (synchronous) if SIGINT or SIGTERM arrives before the returned function is called;
 * calling it withdraws `undo`.
 */
export function undoOnInterrupt(undo: () => void): () => void {
  if (onInterrupt.size === 0) SIGNALS.forEach((s) => process.on(s, interrupted));
  onInterrupt.add(undo);
  return () => {
    onInterrupt.delete(undo);
    if (onInterrupt.size === 0) SIGNALS.forEach((s) => process.removeListener(s, interrupted));
  };
}

/**
 * Fills a sibling temporary folder, then swaps it in for `dir`: readers see the old folder or the
 * new one, never a half-written one, and a crash leaves the old one in place. `mayReplace`
 * (checked just before the swap) refuses a folder the caller does not own by throwing; it is
 * called with what is at `dir` then. No `.tmp-*`/`.old-*` folder outlives the call.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * import path from 'node:path';
 * import { writeFolderAtomically } from 'biflow';
 * await writeFolderAtomically('out/report', async (tmp) => {
 *   await writeFile(path.join(tmp, 'summary.json'), JSON.stringify({ nll: 2.98 }));
 * });
 * ```
 */
export async function writeFolderAtomically(
  dir: string,
  fill: (tmp: string) => Promise<void>,
  mayReplace?: (target: string) => void,
): Promise<void> {
  const target = path.resolve(dir);
  const stamp = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = `${target}.tmp-${stamp}`;
  const old = `${target}.old-${stamp}`;
  mayReplace?.(target);
  await mkdir(path.dirname(target), { recursive: true });
  const withdraw = undoOnInterrupt(() => {
    // An interrupted swap: put the old folder back if it was moved aside, drop the new one.
    // Synchronous on purpose: in a signal handler nothing asynchronous finishes.
    if (existsSync(old) && !existsSync(target)) renameSync(old, target);
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  });
  let movedAside = false;
  let done = false;
  const alive = () => {
    if (dying) throw interruptedError();
  };
  try {
    await mkdir(tmp);
    alive();
    await fill(tmp);
    alive();
    mayReplace?.(target);
    if (existsSync(target)) {
      await rename(target, old);
      movedAside = true;
    }
    alive();
    await rename(tmp, target);
    done = true;
  } finally {
    await rm(tmp, { recursive: true, force: true });
    // The replaced folder goes only once the new one is in place; after a failed swap it goes back.
    if (done) await rm(old, { recursive: true, force: true });
    else if (movedAside) await rename(old, target);
    withdraw();
  }
}
