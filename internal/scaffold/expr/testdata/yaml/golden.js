// Writes random.json: pseudo-random JSON values (seeded, so the file is stable) and what the `yaml`
// package's stringify (as Backstage's catalog:write calls it) makes of each; expr's TestStringifyYAMLGolden
// compares StringifyYAML with it. Run by scripts/nunjucks-golden.sh.
const fs = require('fs');
const path = require('path');
const yaml = require('yaml');

let seed = 20261208;
const rnd = () => { // mulberry32
  let t = (seed += 0x6d2b79f5);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = a => a[Math.floor(rnd() * a.length)];
const pieces = ['a', 'word', 'x', ' ', ' ', '  ', '\n', '\n\n', '\t', ':', ': ', '#', ' #', '-', '- ', '?', '"', "'", '\\',
  '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', '%', '@', '`', '---', '...', 'true', 'null', '1', '0x1', '1.5', '1e3',
  'é', '✓', 'yes', 'no', '~', 'http://example.com/a?b=c', 'long-ish-segment-of-text', 'lorem ipsum dolor sit amet'];
function str() {
  const n = Math.floor(rnd() * (rnd() < 0.3 ? 40 : 8));
  let s = '';
  for (let i = 0; i < n; i++) s += pick(pieces);
  return s;
}
function value(depth) {
  const r = rnd();
  if (depth > 3 || r < 0.55) {
    const t = rnd();
    if (t < 0.75) return str();
    if (t < 0.85) return Math.floor(rnd() * 2000) - 1000;
    if (t < 0.9) return rnd() * 100;
    if (t < 0.95) return rnd() < 0.5;
    return null;
  }
  if (r < 0.75) {
    const o = {};
    const n = Math.floor(rnd() * 5);
    for (let i = 0; i < n; i++) o[rnd() < 0.8 ? str() || 'k' : String(Math.floor(rnd() * 20))] = value(depth + 1);
    return o;
  }
  const a = [];
  const n = Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++) a.push(value(depth + 1));
  return a;
}
const cases = [];
for (let i = 0; i < 500; i++) {
  const v = {};
  const n = 1 + Math.floor(rnd() * 4);
  for (let j = 0; j < n; j++) v['k' + j] = value(0);
  cases.push({ json: JSON.stringify(v), yaml: yaml.stringify(v) });
}
fs.writeFileSync(path.join(__dirname, 'random.json'), JSON.stringify(cases, null, 1) + '\n');
