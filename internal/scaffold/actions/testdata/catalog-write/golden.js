// Writes each *.in.yaml entity the way Backstage's catalog:write does (yaml.stringify(entity) of the
// `yaml` package) into *.want.yaml, which actions' TestCatalogWriteAsBackstage compares with. Run by
// scripts/nunjucks-golden.sh.
const fs = require('fs');
const path = require('path');
const yaml = require('yaml');

for (const f of fs.readdirSync(__dirname).filter(f => f.endsWith('.in.yaml')).sort()) {
  const entity = yaml.parse(fs.readFileSync(path.join(__dirname, f), 'utf8'));
  fs.writeFileSync(path.join(__dirname, f.replace(/\.in\.yaml$/, '.want.yaml')), yaml.stringify(entity));
}
