import fs from 'node:fs';
import path from 'node:path';

/** The Node.js line and the Prisma packages are named in several places; these keep them together (Renovate
 * updates them in groups, see renovate.json, but a hand edit can still split them). */
const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version: string }> };
const major = (version: string) => Number(/(\d+)/.exec(version)?.[1]);

describe('runtime pins', () => {
  it('the image, engines and @types/node name one Node.js line', () => {
    const froms = [...read('Dockerfile').matchAll(/^FROM\s+(\S+)/gm)].map((match) => match[1]);
    expect(froms).toHaveLength(2);
    for (const image of froms) expect(image).toMatch(/^node:\d+-trixie-slim$/);
    const imageMajor = major(froms[0].slice('node:'.length));
    expect(froms.map((image) => major(image.slice('node:'.length)))).toEqual([imageMajor, imageMajor]);
    expect(pkg.engines.node).toBe(`>=${imageMajor}`);
    expect(major(pkg.devDependencies['@types/node'])).toBe(imageMajor);
    // An even line: odd ones never become LTS (up to 26; from 27 every line does, check the schedule then).
    expect(imageMajor % 2).toBe(0);
  });

  it('the Prisma packages share one release, in package.json and in the lock file', () => {
    const all = { ...pkg.dependencies, ...pkg.devDependencies };
    const names = Object.keys(all).filter((name) => name === 'prisma' || name.startsWith('@prisma/'));
    expect(names.sort()).toEqual(['@prisma/adapter-pg', '@prisma/client', '@prisma/driver-adapter-utils', '@prisma/schema-engine-wasm', 'prisma']);
    const minorOf = (version: string) => /^(\d+\.\d+)\./.exec(version)?.[1];
    const declared = new Set(names.map((name) => minorOf(all[name])));
    const locked = new Set(names.map((name) => minorOf(lock.packages[`node_modules/${name}`].version)));
    expect([...declared]).toHaveLength(1);
    expect(locked).toEqual(declared);
    // Exact pins (no ^ or ~): one `npm install` must not move one of them alone.
    for (const name of names) expect(all[name]).toMatch(/^\d/);
  });
});
