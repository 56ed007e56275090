// Writes random.json: pseudo-random filter chains over a fixed context, rendered by the real Nunjucks as
// Backstage configures it (seeded, so the file is stable); expr's TestNunjucksRandomGolden compares.
// Run by scripts/nunjucks-golden.sh.
const fs = require('fs');
const path = require('path');
const nunjucks = require('nunjucks');

let seed = 7;
const rnd = () => {
  let t = (seed += 0x6d2b79f5);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = a => a[Math.floor(rnd() * a.length)];
const context = {
  s: 'Hello World', e: '', sp: '  padded  ', ml: 'line one\nline two\n\nline four', html: '<b>bold</b> & "q"',
  n: 42, f: 3.14159, neg: -7, z: 0, t: true, no: false, nul: null,
  arr: [3, 1, 2], words: ['go', 'Api', 'orders', 'api'], empty: [], nested: [[1, 2], [3]],
  people: [{ name: 'ann', age: 31, role: 'dev' }, { name: 'Bob', age: 25, role: 'ops' }, { name: 'cid', age: 40, role: 'dev' }],
  obj: { b: 1, a: 2, '10': 'ten', '2': 'two' },
};
const values = Object.keys(context).concat(['missing', "'x'", '7', '[1, [2, 3]]', "{k: 'v'}", '"a b c"']);
const filters = ['abs', 'capitalize', 'center(12)', 'default("d")', 'default("d", true)', 'dump', 'dump(2)', 'escape',
  'first', 'float', 'float(1.5)', 'int', 'int(9)', 'join', 'join("-")', 'last', 'length', 'list', 'lower', 'upper', 'nl2br',
  'replace("o", "0")', 'replace("l", "L", 1)', 'reverse', 'round', 'round(1)', 'round(1, "floor")', 'safe', 'sort',
  'sort(true)', 'string', 'striptags', 'sum', 'title', 'trim', 'truncate(5)', 'truncate(6, true, "~")', 'urlencode',
  'wordcount', 'batch(2)', 'slice(2)', 'indent(2)', 'indent(2, true)', 'selectattr("age")', 'rejectattr("role")',
  'groupby("role")', 'dictsort', 'urlize', 'random', 'lower | dump', 'd("x")', 'e', 'length | string'];
const env = new nunjucks.Environment(null, { autoescape: false, tags: { variableStart: '${{', variableEnd: '}}' } });
const cases = [];
for (let i = 0; i < 600; i++) {
  const chain = [pick(filters)];
  if (rnd() < 0.5) chain.push(pick(filters));
  if (chain.some(c => c.startsWith('random'))) continue; // random is not reproducible past one item
  const src = '${{ ' + pick(values) + ' | ' + chain.join(' | ') + ' }}';
  let out, error;
  try {
    out = env.renderString(src, JSON.parse(JSON.stringify(context)));
  } catch (err) {
    error = String(err.message).split('\n').pop().trim();
  }
  cases.push(error === undefined ? { src, out } : { src, error });
}
fs.writeFileSync(path.join(__dirname, 'random.json'),
  JSON.stringify({ context, cases }, null, 1) + '\n');
