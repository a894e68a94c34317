/**
 * One writer per output folder: a lock file `<folder>.lock` beside the folder (beside, so the
 * atomic folder swap never moves it), created exclusively and already filled (a hard link of a
 * private file) with the owner's pid, host and start time. A lock whose process is gone (same
 * host, no such pid) is stale and taken over; any other lock makes the second writer fail at once
 * with an {@link OutputInUseError}.
 */
import { readFileSync, statSync, unlinkSync } from 'node:fs';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OutputPathError, undoOnInterrupt } from './folders.js';

/** Who holds a lock. */
export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
}

/** Another writer holds the output folder's lock. */
export class OutputInUseError extends OutputPathError {
  constructor(
    fn: string,
    dir: string,
    /** The holder, as its lock file says (null: the file is being written or is unreadable). */
    readonly owner: LockOwner | null,
    /** The lock file. */
    readonly lockFile: string,
  ) {
    const who = owner ? `process ${owner.pid}${owner.host === os.hostname() ? '' : ` on ${owner.host}`} (since ${owner.started})` : 'another process';
    super(fn, dir, `is in use by ${who}`, `Wait for it to finish or choose another output; if no such process runs, delete ${lockFile}.`);
  }
}

/** The lock file of the folder `dir`. */
export const lockFileOf = (dir: string): string => `${path.resolve(dir)}.lock`;

/** Lock files this process holds (a pid alone cannot tell ours from a crashed earlier one's). */
const held = new Set<string>();
/** An empty lock file older than this is a writer that died between creating and filling it. */
const EMPTY_STALE_MS = 10_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as LockOwner;
    return Number.isInteger(o?.pid) && typeof o.host === 'string' ? o : null;
  } catch {
    return null;
  }
}

function isStale(file: string, owner: LockOwner | null, ageMs: number): boolean {
  if (!owner) return ageMs > EMPTY_STALE_MS;
  if (owner.host !== os.hostname()) return false; // another machine's process: we cannot tell
  if (owner.pid === process.pid) return !held.has(file);
  return !alive(owner.pid);
}

/** Removes a stale lock unless someone changed it meanwhile; a guard file keeps two takers apart. */
async function removeStale(file: string, seen: string): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    await writeFile(guard, String(process.pid), { flag: 'wx' });
  } catch {
    // Another process is taking over; a guard left by a crash is cleared once it is old.
    const age = await stat(guard).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > EMPTY_STALE_MS) await unlink(guard).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 20));
    return;
  }
  try {
    if ((await readFile(file, 'utf8').catch(() => null)) === seen) await unlink(file).catch(() => undefined);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

/**
 * Creates `file` holding `text`, or returns false if it exists. The text goes to a private file
 * first, which is then hard-linked into place (link fails if the name exists), so a reader never
 * sees a lock that exists but is still empty.
 */
async function createFilled(file: string, text: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await writeFile(tmp, text, { flag: 'wx' });
  try {
    await link(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * Takes the lock of the folder `dir` for `fn` (named in the error), or throws
 * {@link OutputInUseError} at once. Returns the release, which also runs on SIGINT/SIGTERM.
 */
export async function lockFolder(fn: string, dir: string): Promise<() => Promise<void>> {
  const file = lockFileOf(dir);
  await mkdir(path.dirname(file), { recursive: true });
  const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() } satisfies LockOwner);
  for (let attempt = 0; ; attempt++) {
    if (await createFilled(file, mine)) break;
    const text = await readFile(file, 'utf8').catch(() => null);
    const owner = text === null ? null : parseOwner(text);
    // A few tries: the lock may be released meanwhile, or stale; past that, report what is there.
    if (attempt < 20) {
      if (text === null) continue;
      const age = await stat(file).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (isStale(file, owner, age)) {
        await removeStale(file, text);
        continue;
      }
    }
    throw new OutputInUseError(fn, dir, owner, file);
  }
  held.add(file);
  const releaseSync = () => {
    held.delete(file);
    try {
      if (readFileSync(file, 'utf8') === mine) unlinkSync(file);
    } catch {
      // Already gone.
    }
  };
  const withdraw = undoOnInterrupt(releaseSync);
  return async () => {
    withdraw();
    releaseSync();
  };
}

/**
 * Throws {@link OutputInUseError} if a live writer holds `dir`'s lock (without taking it): a
 * command checks this first, so a second writer hears "in use", not what the first one wrote.
 */
export function checkUnlocked(fn: string, dir: string): void {
  const file = lockFileOf(dir);
  let text: string;
  let age: number;
  try {
    text = readFileSync(file, 'utf8');
    age = Date.now() - statSync(file).mtimeMs;
  } catch {
    return;
  }
  const owner = parseOwner(text);
  if (!isStale(file, owner, age)) throw new OutputInUseError(fn, dir, owner, file);
}

/** Runs `work` holding the lock of `dir`; the lock is released on every path. */
export async function withFolderLock<T>(fn: string, dir: string, work: () => Promise<T>): Promise<T> {
  const release = await lockFolder(fn, dir);
  try {
    return await work();
  } finally {
    await release();
  }
}
