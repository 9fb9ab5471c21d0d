// Applies a .dockerignore to a list of paths the way Docker builds its
// context (moby/patternmatcher): patterns relative to the context root, `*`
// and `?` within one path element, `**` across any number of them, a
// pattern that matches a directory excludes everything below it, `!` re-
// includes, and the last matching pattern wins.
//
//   node dockerignore.mjs FILE < paths    print the paths FILE keeps
//   node dockerignore.mjs --self-test     check the matcher on known cases
import fs from 'node:fs';

function toRegex(pattern) {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else {
        re += '.*';
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      re += end > i ? pattern.slice(i, end + 1).replace('[!', '[^') : '\\[';
      if (end > i) i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function parseIgnore(text) {
  return text.split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const p = (negate ? l.slice(1) : l).trim().replace(/^\/+/, '').replace(/\/+$/, '').replace(/^\.\//, '');
      return { negate, re: toRegex(p) };
    });
}

// True when path (relative, '/'-separated) is left out of the context.
export function excluded(rules, path) {
  const parts = path.split('/');
  let out = false;
  for (const r of rules) {
    for (let n = 1; n <= parts.length; n++) {
      if (r.re.test(parts.slice(0, n).join('/'))) {
        out = !r.negate;
        break;
      }
    }
  }
  return out;
}

function selfTest() {
  const rules = parseIgnore('.git\nbuild*\n**/node_modules\n**/*.swp\ntests\n!tests/keep.txt\ndeploy/k8s\n');
  const cases = [
    ['CMakeLists.txt', false], ['.git/config', true], ['build/release/bin/ppctl', true],
    ['build-asan/x', true], ['tests/web/node_modules/a/b.js', true], ['node_modules/x', true],
    ['common/log.c', false], ['common/.log.c.swp', true], ['tests/unit/t.c', true],
    ['tests/keep.txt', false], ['deploy/k8s/base/worker.yaml', true], ['deploy/docker/pp-node-zone', false],
    ['services/builder.c', false],
  ];
  const bad = cases.filter(([p, want]) => excluded(rules, p) !== want);
  for (const [p, want] of bad) console.error(`FAIL ${p}: excluded=${!want}, want ${want}`);
  console.log(`self-test: ${cases.length - bad.length}/${cases.length} paths matched as Docker does`);
  return bad.length ? 1 : 0;
}

function main(argv) {
  if (argv[0] === '--self-test') return selfTest();
  if (argv.length !== 1) {
    console.error('usage: dockerignore.mjs FILE < paths | --self-test');
    return 1;
  }
  const rules = parseIgnore(fs.readFileSync(argv[0], 'utf8'));
  const paths = fs.readFileSync(0, 'utf8').split(/[\n\0]/).filter(Boolean);
  for (const p of paths) if (!excluded(rules, p)) console.log(p);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
