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
// Expressions: operators, tests and lookups over every kind of value.
const operands = ['s', 'e', 'n', 'f', 'neg', 'z', 't', 'no', 'nul', 'missing', 'arr', 'words', 'empty', 'obj', 'people[0]',
  'people[1].name', 'obj.b', "obj['10']", 'arr[1]', 'arr.length', 's.length', "'10'", "'abc'", '"2"', '3', '0.5', '-1', 'true',
  'false', 'null', 'none', '[1, 2]', '[]', "{a: 1}", '(1 + 2)', 'words[5]', 'missing.x'];
const binops = ['+', '-', '*', '/', '%', '//', '**', '==', '===', '!=', '!==', '<', '>', '<=', '>=', 'and', 'or', 'in', '~'];
const tests = ['defined', 'undefined', 'none', 'null', 'string', 'number', 'odd', 'even', 'truthy', 'falsy', 'divisibleby(3)',
  'sameas(3)', 'equalto(42)', 'iterable', 'mapping', 'callable', 'lower', 'upper', 'escaped', 'ge(3)', 'lt(3)', 'ne(0)'];
for (let i = 0; i < 500; i++) {
  const r = rnd();
  let src;
  if (r < 0.55) src = '${{ ' + pick(operands) + ' ' + pick(binops) + ' ' + pick(operands) + ' }}';
  else if (r < 0.7) src = '${{ ' + pick(['not ', '-', '+', '!']) + pick(operands) + ' }}';
  else if (r < 0.9) src = '{% if ' + pick(operands) + ' is ' + pick(tests) + ' %}yes{% else %}no{% endif %}';
  else src = '${{ ' + pick(operands) + ' if ' + pick(operands) + ' else ' + pick(operands) + ' }}';
  let out, error;
  try {
    out = env.renderString(src, JSON.parse(JSON.stringify(context)));
  } catch (err) {
    error = String(err.message).split('\n').pop().trim();
  }
  cases.push(error === undefined ? { src, out } : { src, error });
}
// Whitespace: random texts of blocks, variables and comments, with and without - and trimBlocks/lstripBlocks.
const texts = ['a', 'b', ' ', '  ', '\n', '\n  ', '  \n', '\t', '\n\n', 'x\n'];
const ws = () => pick(['', '-']);
function tpl(depth) {
  let out = '';
  const n = 1 + Math.floor(rnd() * 5);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.35) out += pick(texts);
    else if (r < 0.5) out += '${{' + ws() + ' ' + pick(['s', 'n', "'v'", 'missing']) + ' ' + ws() + '}}';
    else if (r < 0.58) out += '{#' + ws() + ' c ' + ws() + '#}';
    else if (r < 0.66) out += '{%' + ws() + ' set v = 1 ' + ws() + '%}';
    else if (depth < 2 && r < 0.8) {
      out += '{%' + ws() + ' if ' + pick(['t', 'no']) + ' ' + ws() + '%}' + tpl(depth + 1);
      if (rnd() < 0.4) out += '{%' + ws() + ' else ' + ws() + '%}' + tpl(depth + 1);
      out += '{%' + ws() + ' endif ' + ws() + '%}';
    } else if (depth < 2 && r < 0.93) {
      out += '{%' + ws() + ' for w in words ' + ws() + '%}' + tpl(depth + 1) + '{%' + ws() + ' endfor ' + ws() + '%}';
    } else if (r < 0.97) {
      out += '{%' + ws() + ' raw ' + ws() + '%}' + pick(texts) + '${{ s }}' + pick(texts) + '{%' + ws() + ' endraw ' + ws() + '%}';
    } else out += pick(texts);
  }
  return out;
}
for (let i = 0; i < 400; i++) {
  const trimBlocks = rnd() < 0.5, lstripBlocks = rnd() < 0.5;
  const src = tpl(0);
  const wenv = new nunjucks.Environment(null, { autoescape: false, trimBlocks, lstripBlocks,
    tags: { variableStart: '${{', variableEnd: '}}' } });
  let out, error;
  try {
    out = wenv.renderString(src, JSON.parse(JSON.stringify(context)));
  } catch (err) {
    error = String(err.message).split('\n').pop().trim();
  }
  const c = error === undefined ? { src, out } : { src, error };
  if (trimBlocks) c.trimBlocks = true;
  if (lstripBlocks) c.lstripBlocks = true;
  cases.push(c);
}
// Loops, set, and macros over every kind of value.
const iters = ['arr', 'words', 'empty', 'obj', 'people', 's', 'e', 'n', 'nul', 'missing', 'nested', '[1, [2, 3]]', "{z: 1, '1': 2}",
  'obj.b', 'html', 'range(3)', 'people | groupby("role")'];
const bodies = ['${{ x }}', '${{ loop.index }}', '${{ loop.index0 }}/${{ loop.revindex }}/${{ loop.revindex0 }}', '${{ loop.first }}${{ loop.last }}',
  '${{ loop.length }}', '${{ x | dump }}', '${{ x.name }}', '{% set acc = x %}', '${{ loop.cycle("a", "b") }}', '${{ x[0] }}'];
for (let i = 0; i < 300; i++) {
  const r = rnd();
  let src;
  const it = pick(iters);
  if (r < 0.5) src = '{% for x in ' + it + ' %}' + pick(bodies) + ',{% else %}none{% endfor %}';
  else if (r < 0.7) src = '{% for k, v in ' + it + ' %}${{ k }}=${{ v }};{% endfor %}';
  else if (r < 0.8) src = '{% set acc = "start" %}{% for x in ' + it + ' %}{% set acc = x %}{% endfor %}${{ acc }}';
  else if (r < 0.9) src = '{% macro m(a, b=2) %}[${{ a }}|${{ b }}]{% endmacro %}${{ m(' + it + ') }}${{ m(' + it + ', b=' + pick(iters) + ') }}';
  else src = '{% for x in ' + it + ' %}{% for y in ' + pick(iters) + ' %}${{ loop.index }}{% endfor %};{% endfor %}';
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
