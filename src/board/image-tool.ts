// Command-line front of the image manifest, bundled into each image as lib/tandem/verify-image.js
// so the check runs on the board with the image's own node:
//   node verify-image.js verify [IMAGE_DIR]            exit 0 when the image matches MANIFEST.json
//   node verify-image.js manifest IMAGE_DIR META.json  (build time) writes IMAGE_DIR/MANIFEST.json
//   node verify-image.js profile-fields NAME            (build time) validated profile fields for
//                                                        firmware/build-image.sh, one per line
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildManifest, serializeManifest, verifyImage, MANIFEST_NAME } from './manifest.ts';
import type { ImageMeta } from './manifest.ts';
import { loadBoardProfile } from './profile.ts';

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'manifest') {
    const [dir, metaFile] = rest;
    if (!dir || !metaFile) throw new Error('usage: manifest IMAGE_DIR META.json');
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as ImageMeta;
    const m = await buildManifest(dir, meta);
    await writeFile(join(dir, MANIFEST_NAME), serializeManifest(m));
    console.log(`${MANIFEST_NAME}: ${m.files.length} files`);
    return 0;
  }
  if (cmd === 'profile-fields') {
    if (!rest[0]) throw new Error('usage: profile-fields NAME');
    const p = loadBoardProfile(rest[0]);
    // Fixed order, one value per line: every one is checked by parseBoardProfile against a
    // pattern without spaces or newlines, so the shell reads them with mapfile safely.
    const fields = [p.name, p.arch, p.libc, p.init, p.node.package, p.node.version, p.node.integrity, p.defaultConfig];
    console.log(fields.join('\n'));
    return 0;
  }
  if (cmd === 'verify' || cmd === undefined) {
    // Default image root: the directory above lib/tandem/ where this script sits.
    const dir = rest[0] ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const r = await verifyImage(dir);
    for (const p of r.missing) console.log(`missing: ${p}`);
    for (const p of r.extra) console.log(`extra: ${p}`);
    for (const c of r.changed) console.log(`changed: ${c.path} (${c.why})`);
    console.log(r.ok ? `${dir}: image matches ${MANIFEST_NAME}` : `${dir}: image does NOT match ${MANIFEST_NAME}`);
    return r.ok ? 0 : 1;
  }
  throw new Error(`unknown command ${cmd}; use verify [DIR] or manifest DIR META.json`);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => { console.error(`verify-image: ${(e as Error).message}`); process.exitCode = 2; },
);
