// A small Dockerfile linter for deploy/docker/Dockerfile (hadolint is not in
// Debian). It checks what the image promises: multi-stage, base images pinned
// to a dated or versioned tag (or a digest), the build stage installs the
// project's -dev packages and runs the CMake build and install, the final
// stage holds only runtime libraries, copies only the install tree from the
// build stage and runs as a non-root user.
//
//   node lint-dockerfile.mjs FILE                     lint FILE
//   node lint-dockerfile.mjs --runtime-packages FILE  print the final stage's apt packages
//   node lint-dockerfile.mjs --self-test FILE         break FILE in known ways and
//                                                     require every break to be caught
import fs from 'node:fs';

// Packages the build needs (STACK.md apt line, JSON library jansson; cmocka
// only for tests, which the image does not build).
const BUILD_PACKAGES = ['cmake', 'pkg-config', 'libnng-dev', 'libprotobuf-c-dev', 'protobuf-c-compiler',
  'nanopb', 'libnanopb-dev', 'libmicrohttpd-dev', 'libsqlite3-dev', 'libssl-dev', 'libjansson-dev'];
// What the binaries link at run time, and the only other packages allowed in
// the final stage (curl: pp-node-zone and health checks).
const RUNTIME_LIBS = ['libnng1', 'libprotobuf-c1', 'libmicrohttpd12', 'libsqlite3-0', 'libssl3', 'libjansson4',
  'libxml2', 'libisal2']; // the last two: the gateway's S3 API
const RUNTIME_EXTRA = ['curl', 'ca-certificates'];
const BUILD_TOOL = /^(build-essential|gcc.*|g\+\+.*|cpp.*|clang.*|llvm.*|make|cmake.*|ninja-build|pkg-config|pkgconf|binutils.*|autoconf|automake|libtool|git|protobuf-c-compiler|protobuf-compiler|nanopb|.*-dev)$/;
const BINARIES = ['pp-tracker', 'pp-worker', 'pp-gateway', 'ppctl'];

// Instructions as {op, args, line, stage}; continuation lines joined,
// comments and parser directives dropped.
export function parse(text) {
  const out = [];
  const lines = text.split('\n');
  let stage = -1;
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i];
    if (/^\s*(#.*)?$/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i++;
      if (/^\s*#/.test(lines[i])) continue;
      line = line.replace(/\\\s*$/, ' ') + lines[i];
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) {
      out.push({ op: '?', args: line, line: start + 1, stage });
      continue;
    }
    const op = m[1].toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2].trim(), line: start + 1, stage });
  }
  return out;
}

// Packages named by `apt-get install` in a RUN command.
function aptPackages(run) {
  const pkgs = [];
  for (const m of run.matchAll(/apt-get\s+install\s+([^;&|]*)/g)) {
    for (const w of m[1].split(/\s+/)) if (w && !w.startsWith('-')) pkgs.push(w.replace(/=.*$/, ''));
  }
  return pkgs;
}

export function lint(text) {
  const errs = [];
  const ins = parse(text);
  const unknown = ins.filter((x) => x.op === '?');
  for (const x of unknown) errs.push(`line ${x.line}: not an instruction: ${x.args}`);

  // Global ARGs (before the first FROM) may be used in FROM lines.
  const globalArgs = {};
  for (const x of ins.filter((y) => y.stage === -1 && y.op === 'ARG')) {
    const [k, v] = x.args.split('=');
    globalArgs[k.trim()] = v?.trim();
  }
  const froms = ins.filter((x) => x.op === 'FROM');
  if (froms.length < 2) errs.push(`${froms.length} stage(s): the image must be multi-stage`);
  const stageNames = [];
  froms.forEach((f, n) => {
    const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(f.args);
    if (!m) {
      errs.push(`line ${f.line}: cannot read FROM ${f.args}`);
      return;
    }
    stageNames[n] = m[2]?.toLowerCase();
    const image = m[1].replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (all, k) => globalArgs[k] ?? all);
    if (stageNames.slice(0, n).includes(image.toLowerCase())) return;
    if (image.includes('$')) errs.push(`line ${f.line}: base image ${image} depends on an ARG without a default`);
    const digest = /@sha256:[0-9a-f]{64}$/.test(image);
    const tag = /^[^@]*:([^:/@]+)(@|$)/.exec(image)?.[1];
    // A moving tag (latest, bookworm, bookworm-slim, 12) is not pinned;
    // dated snapshots (bookworm-20250929) and point releases (12.12) are.
    const pinnedTag = tag && tag !== 'latest' && /(^|[-.])(\d{8}|\d+\.\d+)([-.]|$)/.test(tag);
    if (!digest && !pinnedTag) errs.push(`line ${f.line}: base image ${image} is not pinned (dated tag, version or digest)`);
  });

  const last = froms.length - 1;
  const build = ins.filter((x) => x.stage >= 0 && x.stage < last);
  const final = ins.filter((x) => x.stage === last);
  const runs = (xs) => xs.filter((x) => x.op === 'RUN').map((x) => x.args);

  // Every apt-get install: no recommends, lists removed in the same layer.
  for (const x of ins.filter((y) => y.op === 'RUN' && /apt-get\s+install/.test(y.args))) {
    if (!/--no-install-recommends/.test(x.args)) errs.push(`line ${x.line}: apt-get install without --no-install-recommends`);
    if (!/rm -rf \/var\/lib\/apt\/lists/.test(x.args)) errs.push(`line ${x.line}: apt lists not removed in the same RUN`);
    if (!/apt-get update/.test(x.args)) errs.push(`line ${x.line}: apt-get install without apt-get update in the same RUN`);
  }
  for (const x of ins.filter((y) => y.op === 'ADD')) errs.push(`line ${x.line}: ADD (use COPY)`);

  // Build stage.
  const buildPkgs = runs(build).flatMap(aptPackages);
  for (const p of BUILD_PACKAGES) if (!buildPkgs.includes(p)) errs.push(`build stage does not install ${p}`);
  const buildText = runs(build).join('\n');
  if (!/cmake -S \. -B build\b[^\n]*-DCMAKE_BUILD_TYPE=Release/.test(buildText)) errs.push('build stage does not configure a Release build');
  if (!/cmake --build build\b/.test(buildText)) errs.push('build stage does not run cmake --build build');
  if (!/cmake --install build --prefix \/opt\/pp\b/.test(buildText)) errs.push('build stage does not install to /opt/pp');
  for (const b of BINARIES) if (!buildText.includes(b)) errs.push(`build stage does not check that ${b} was installed`);

  // Final stage.
  const finalPkgs = runs(final).flatMap(aptPackages);
  for (const p of finalPkgs) {
    if (BUILD_TOOL.test(p)) errs.push(`final stage installs build tool ${p}`);
    else if (!RUNTIME_LIBS.includes(p) && !RUNTIME_EXTRA.includes(p)) errs.push(`final stage installs ${p}, not a runtime library of the binaries`);
  }
  for (const p of RUNTIME_LIBS) if (!finalPkgs.includes(p)) errs.push(`final stage does not install ${p}`);
  for (const x of final.filter((y) => y.op === 'COPY')) {
    const from = /--from=(\S+)/.exec(x.args)?.[1];
    if (!from) errs.push(`line ${x.line}: final stage copies from the build context (${x.args}); copy the install tree from the build stage`);
    else if (!stageNames.slice(0, last).includes(from.toLowerCase()) && !/^\d+$/.test(from)) errs.push(`line ${x.line}: COPY --from=${from} is not a build stage`);
  }
  if (!final.some((x) => x.op === 'COPY' && /--from=\S+\s+\/opt\/pp\/bin\s+\/opt\/pp\/bin$/.test(x.args))) errs.push('final stage does not copy /opt/pp/bin from the build stage');
  if (!final.some((x) => x.op === 'ENV' && /PATH=\/opt\/pp\/bin[:\s]/.test(x.args))) errs.push('final stage does not put /opt/pp/bin on PATH');
  const users = final.filter((x) => x.op === 'USER');
  if (users.length === 0) errs.push('final stage has no USER: it would run as root');
  else if (/^(root|0)(:|$)/.test(users.at(-1).args)) errs.push(`final stage runs as ${users.at(-1).args}`);
  else if (!/^[1-9][0-9]*(:[1-9][0-9]*)?$/.test(users.at(-1).args)) errs.push(`USER ${users.at(-1).args} is not numeric: Kubernetes runAsNonRoot cannot verify a name`);
  for (const x of final.filter((y) => y.op === 'CMD' || y.op === 'ENTRYPOINT')) {
    try {
      if (!Array.isArray(JSON.parse(x.args))) throw new Error();
    } catch {
      errs.push(`line ${x.line}: ${x.op} in shell form (use the JSON form)`);
    }
  }
  return errs;
}

const MUTATIONS = [
  ['single stage', /must be multi-stage/, (t) => t.replace(/FROM debian:\$\{DEBIAN_SNAPSHOT\}-slim AS runtime[\s\S]*/, '')],
  ['moving base tag', /not pinned/, (t) => t.replace(/^ARG DEBIAN_SNAPSHOT=.*$/m, 'ARG DEBIAN_SNAPSHOT=bookworm')],
  ['latest base', /not pinned/, (t) => t.replace('FROM debian:${DEBIAN_SNAPSHOT} AS build', 'FROM debian:latest AS build')],
  ['no USER', /no USER/, (t) => t.replace(/^USER .*$/m, '')],
  ['USER root', /runs as root/, (t) => t.replace(/^USER .*$/m, 'USER root')],
  ['named USER', /not numeric/, (t) => t.replace(/^USER .*$/m, 'USER pp')],
  ['compiler in final stage', /final stage installs build tool gcc/, (t) => t.replace(/libjansson4 \\\n/, 'libjansson4 gcc \\\n')],
  ['-dev in final stage', /final stage installs build tool libssl-dev/, (t) => t.replace(/ libssl3 /, ' libssl-dev ')],
  ['missing runtime lib', /does not install libnng1/, (t) => t.replace(/ libnng1 /, ' ')],
  ['sources in final stage', /copies from the build context/, (t) => t.replace(/^COPY --from=build \/opt\/pp\/bin \/opt\/pp\/bin$/m, 'COPY . /src')],
  ['recommends', /without --no-install-recommends/, (t) => t.replace(/install -y --no-install-recommends \\\n      libnng1/, 'install -y \\\n      libnng1')],
  ['apt lists kept', /apt lists not removed/, (t) => t.replace(/ && rm -rf \/var\/lib\/apt\/lists\/\* \\\n && groupadd/, ' \\\n && groupadd')],
  ['no release build', /Release build/, (t) => t.replace('-DCMAKE_BUILD_TYPE=Release', '-DCMAKE_BUILD_TYPE=Debug')],
  ['build dep missing', /does not install libjansson-dev/, (t) => t.replace(' libjansson-dev', '')],
  ['shell-form CMD', /CMD in shell form/, (t) => t.replace(/^CMD .*$/m, 'CMD pp-gateway --help')],
  ['ADD', /ADD \(use COPY\)/, (t) => t.replace(/^COPY \. \.$/m, 'ADD . .')],
];

function main(argv) {
  let failures = [];
  if (argv[0] === '--runtime-packages') {
    const ins = parse(fs.readFileSync(argv[1], 'utf8'));
    const last = Math.max(...ins.map((x) => x.stage));
    console.log(ins.filter((x) => x.stage === last && x.op === 'RUN').flatMap((x) => aptPackages(x.args)).join('\n'));
    return 0;
  }
  if (argv[0] === '--self-test') {
    const good = fs.readFileSync(argv[1], 'utf8');
    const base = lint(good);
    if (base.length) failures = ['self-test needs a clean Dockerfile:', ...base];
    else {
      for (const [name, expect, mutate] of MUTATIONS) {
        const bad = mutate(good);
        if (bad === good) {
          failures.push(`mutation '${name}' no longer applies to the Dockerfile: update the self-test`);
          continue;
        }
        const errs = lint(bad);
        if (!errs.some((e) => expect.test(e))) failures.push(`not caught: ${name}; got: ${errs.join(' | ') || 'no error'}`);
      }
      console.log(`self-test: ${MUTATIONS.length - failures.length}/${MUTATIONS.length} broken Dockerfiles caught`);
    }
  } else if (argv.length === 1) {
    failures = lint(fs.readFileSync(argv[0], 'utf8'));
    console.log(`${argv[0]}: ${parse(fs.readFileSync(argv[0], 'utf8')).length} instructions, ${failures.length} problems`);
  } else {
    console.error('usage: lint-dockerfile.mjs [--self-test|--runtime-packages] FILE');
    return 1;
  }
  for (const f of failures) console.error(`FAIL ${f}`);
  return failures.length ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
