// Renders cases.json with the real Nunjucks, configured as Backstage's scaffolder configures it
// (autoescape off, ${{ }} variables), and prints the outputs as JSON: scripts/nunjucks-golden.sh
// writes them to golden.json, which expr's TestNunjucksGolden compares the engine with.
const fs = require('fs');
const path = require('path');
const nunjucks = require('nunjucks');

const { context, cases } = JSON.parse(fs.readFileSync(path.join(__dirname, 'cases.json'), 'utf8'));
const out = {};
for (const c of cases) {
  const env = new nunjucks.Environment(null, {
    autoescape: false,
    tags: { variableStart: '${{', variableEnd: '}}' },
    trimBlocks: !!c.trimBlocks,
    lstripBlocks: !!c.lstripBlocks,
  });
  try {
    out[c.name] = { out: env.renderString(c.src, JSON.parse(JSON.stringify(context))) };
  } catch (err) {
    out[c.name] = { error: String(err.message).split('\n').pop().trim() };
  }
}
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
