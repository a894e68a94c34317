/**
 * .ci/install-lavapipe.sh copies the machine's own apt source for Debian bookworm into a
 * bookworm-backports source, so the repository names no archive. Run against sample apt folders
 * under LAVAPIPE_APT_ROOT (the script then installs nothing); the hosts below are `.invalid`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const script = path.resolve('.ci/install-lavapipe.sh');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const runnable = process.platform !== 'win32' && has('bash') && has('awk');

/** A sample root with the given files under etc/apt (paths relative to it). */
function aptRoot(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-apt-'));
  mkdirSync(path.join(root, 'etc/apt/sources.list.d'), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(root, 'etc/apt', name), text);
  return root;
}

function install(root: string, env: Record<string, string> = {}) {
  const r = spawnSync('bash', [script], { env: { ...process.env, ...env, LAVAPIPE_APT_ROOT: root }, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}
const read = (root: string, name: string) => readFileSync(path.join(root, 'etc/apt/sources.list.d', name), 'utf8');
const listed = (root: string) => readdirSync(path.join(root, 'etc/apt/sources.list.d')).sort();

const DEB822 = `Types: deb deb-src
# a comment inside the stanza
URIs: http://mirror.invalid/debian
Suites: bookworm bookworm-updates
Components: main contrib
Architectures: amd64
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://mirror.invalid/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/archive.gpg
`;

describe.runIf(runnable)('.ci/install-lavapipe.sh: the bookworm-backports source from the machine\'s own', () => {
  it('deb822: copies the bookworm stanza (URIs, keyring, options), only Types and Suites change', () => {
    const root = aptRoot({ 'sources.list.d/mirror.sources': DEB822 });
    const r = install(root);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/wrote .*bookworm-backports\.sources from the bookworm source in .*mirror\.sources/);
    expect(r.out).toMatch(/sources only, nothing installed/);
    expect(read(root, 'bookworm-backports.sources')).toBe(`Types: deb
URIs: http://mirror.invalid/debian
Components: main contrib
Architectures: amd64
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL
 -----END PGP PUBLIC KEY BLOCK-----
Suites: bookworm-backports
`);
  });

  it('skips a disabled stanza, files apt ignores, and deb-src; sources.list comes first', () => {
    const root = aptRoot({
      'sources.list.d/a.sources': 'Types: deb\nURIs: http://off.invalid/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\nTypes: deb-src\nURIs: http://src.invalid/debian\nSuites: bookworm\nComponents: main\n\nTypes: deb\nURIs: http://on.invalid/debian\nSuites: bookworm\nComponents: main\nSigned-By: /k.gpg\n',
      'sources.list.d/0.sources.disabled': 'Types: deb\nURIs: http://disabled.invalid/debian\nSuites: bookworm\nComponents: main\n',
    });
    expect(install(root).status).toBe(0);
    expect(read(root, 'bookworm-backports.sources')).toBe('Types: deb\nURIs: http://on.invalid/debian\nComponents: main\nSigned-By: /k.gpg\nSuites: bookworm-backports\n');
    const first = aptRoot({
      'sources.list': '# deb http://old.invalid/debian bookworm main\ndeb-src http://src.invalid/debian bookworm main\ndeb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://list.invalid/debian bookworm main contrib # trailing comment\n',
      'sources.list.d/z.sources': 'Types: deb\nURIs: http://later.invalid/debian\nSuites: bookworm\nComponents: main\n',
    });
    expect(install(first).status).toBe(0);
    expect(listed(first)).toEqual(['bookworm-backports.list', 'z.sources']);
    expect(read(first, 'bookworm-backports.list')).toBe('deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://list.invalid/debian bookworm-backports main contrib\n');
    const spaced = aptRoot({ 'sources.list.d/m.list': 'deb [ trusted=yes ] file:/srv/mirror bookworm main\n' });
    expect(install(spaced).status).toBe(0);
    expect(read(spaced, 'bookworm-backports.list')).toBe('deb [ trusted=yes ] file:/srv/mirror bookworm-backports main\n');
  });

  it('is idempotent: a second run, or an existing backports source, writes nothing', () => {
    const root = aptRoot({ 'sources.list.d/mirror.sources': DEB822 });
    install(root);
    const written = read(root, 'bookworm-backports.sources');
    const again = install(root);
    expect(again.status).toBe(0);
    expect(again.out).toMatch(/bookworm-backports is already an apt source/);
    expect(read(root, 'bookworm-backports.sources')).toBe(written);
    const own = aptRoot({ 'sources.list': 'deb http://a.invalid/debian bookworm main\ndeb http://a.invalid/debian bookworm-backports main\n' });
    expect(install(own).out).toMatch(/already an apt source/);
    expect(listed(own)).toEqual([]);
  });

  it('without a bookworm source it fails with a message and writes nothing', () => {
    const root = aptRoot({ 'sources.list.d/trixie.sources': 'Types: deb\nURIs: http://a.invalid/debian\nSuites: trixie\nComponents: main\n' });
    const r = install(root);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/no apt source for Debian bookworm in .*; add a bookworm-backports source by hand/);
    expect(listed(root)).toEqual(['trixie.sources']);
  });

  it.runIf(has('dpkg'))('exits early when lavapipe ≥ 25 is installed, and not for an older one', () => {
    const root = aptRoot({ 'sources.list.d/mirror.sources': DEB822 });
    mkdirSync(path.join(root, 'usr/share/vulkan/icd.d'), { recursive: true });
    writeFileSync(path.join(root, 'usr/share/vulkan/icd.d/lvp_icd.x86_64.json'), '{}');
    // A dpkg-query that reports the given mesa-vulkan-drivers version (dpkg itself compares).
    const bin = path.join(root, 'bin');
    mkdirSync(bin);
    const stub = (version: string) => {
      writeFileSync(path.join(bin, 'dpkg-query'), `#!/bin/sh\necho '${version}'\n`);
      chmodSync(path.join(bin, 'dpkg-query'), 0o755);
    };
    const PATH = `${bin}:${process.env.PATH ?? ''}`;
    stub('25.0.7-2~bpo12+1');
    const r = install(root, { PATH });
    expect([r.status, r.out.trim()]).toEqual([0, 'lavapipe already installed: mesa-vulkan-drivers 25.0.7-2~bpo12+1']);
    expect(existsSync(path.join(root, 'etc/apt/sources.list.d/bookworm-backports.sources'))).toBe(false);
    stub('22.3.6-1+deb12u1');
    expect(install(root, { PATH }).out).toMatch(/wrote .*bookworm-backports\.sources/);
  });

  it('names no archive host: the script holds no URI', () => {
    expect(readFileSync(script, 'utf8')).not.toMatch(/[a-z][a-z0-9+.-]*:\/\//i);
  });
});
