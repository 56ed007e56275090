'use strict';
// Drives every method of Backstage's own CatalogClient (@backstage/catalog-client, pinned in package.json)
// against goldenpath's /api/catalog, and checks what the client returns. test/e2e/catalogclient_test.go
// starts goldenpath, registers the fixture's catalog files (payments/orders, payments/refresh,
// search/indexer) and runs this with:
//
//   GOLDENPATH_URL           the server
//   GOLDENPATH_TOKEN         alice, a developer of team payments
//   GOLDENPATH_OTHER_TOKEN   seadev, a developer of team search
//   GOLDENPATH_FIXTURE       JSON: the catalog file targets (see fixture below)
//
// Each check is one call (or a few calls of one method) whose result is compared with what the fixture
// holds; the closing line counts them.

const assert = require('node:assert/strict');
const { CatalogClient, CATALOG_FILTER_EXISTS } = require('@backstage/catalog-client');

const base = required('GOLDENPATH_URL');
const alice = { token: required('GOLDENPATH_TOKEN') };
const seadev = { token: required('GOLDENPATH_OTHER_TOKEN') };
// orders, indexer, refresh: registered; ledger, ledgerNext, clash: unregistered files of payments;
// searchOther: an unregistered file of search's; empty: a payments repository without a catalog file.
const fixture = JSON.parse(required('GOLDENPATH_FIXTURE'));

const client = new CatalogClient({ discoveryApi: { getBaseUrl: async () => `${base}/api/catalog` } });

// Deliberate limits: checks skipped by name, each with its reason (docs/catalog.md lists them too).
const limits = {
  'a location\'s entityRef names its Location entity':
    'goldenpath creates no generated Location entity per registered location, so locations carry no entityRef (docs/catalog.md, Known limits)',
};

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set; test/e2e/catalogclient_test.go runs this script`);
    process.exit(2);
  }
  return v;
}

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

// What the fixture registered (goldenpath adds its own users, groups and templates).
const paymentsComponents = ['billing', 'orders', 'refreshme'];
const searchComponents = ['crawler', 'indexer'];

const refOf = e => `${e.kind.toLowerCase()}:${(e.metadata.namespace ?? 'default').toLowerCase()}/${e.metadata.name.toLowerCase()}`;
const names = items => items.map(e => e.metadata.name);
const sorted = list => [...list].sort();
const compareNames = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// rejects asserts that p fails as the client reports a server error: a ResponseError with the status and
// Backstage's error name.
async function rejects(p, status, errorName, text) {
  let err;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `the call succeeded; want a ${status} ${errorName}`);
  assert.equal(err.name, 'ResponseError', `error ${err}`);
  assert.equal(err.statusCode, status, `status of ${err.message}`);
  assert.equal(err.cause?.name, errorName, `error name of ${err.message}`);
  if (text) {
    assert.match(err.cause.message, text);
  }
  return err;
}

// collect reads a stream of pages.
async function collect(stream) {
  const pages = [];
  for await (const page of stream) {
    pages.push(page);
  }
  return pages;
}

// ---- getEntities

check('getEntities() lists every entity, goldenpath\'s own too', async () => {
  const { items } = await client.getEntities(undefined, alice);
  const refs = items.map(refOf);
  for (const want of ['component:default/orders', 'component:default/indexer', 'api:default/orders-api', 'system:default/shop',
    'location:default/orders-more', 'resource:default/search-db', 'group:default/payments', 'user:default/alice']) {
    assert.ok(refs.includes(want), `no ${want} in ${refs}`);
  }
  assert.ok(items.some(e => e.kind === 'Template'), 'no Template');
  assert.equal(new Set(refs).size, refs.length, 'an entity listed twice');
  const orders = items.find(e => e.metadata.name === 'orders');
  assert.equal(orders.apiVersion, 'backstage.io/v1alpha1');
  assert.ok(orders.metadata.uid && orders.metadata.etag, 'uid and etag');
  assert.deepEqual(orders.spec.providesApis, ['orders-api']);
  assert.ok(orders.relations.some(r => r.type === 'ownedBy' && r.targetRef === 'group:default/payments'), 'ownedBy relation');
});

check('getEntities({filter}) matches kind case-insensitively', async () => {
  const { items } = await client.getEntities({ filter: { kind: 'component' } }, alice);
  assert.deepEqual(sorted(names(items)), sorted([...paymentsComponents, ...searchComponents]));
  assert.ok(items.every(e => e.kind === 'Component'));
});

check('getEntities({filter: [a, b]}) is an OR of AND-sets, values an OR', async () => {
  const { items } = await client.getEntities({
    filter: [{ kind: 'component', 'spec.lifecycle': ['experimental', 'deprecated'] }, { kind: 'Resource', 'spec.type': 'database' }],
  }, alice);
  assert.deepEqual(sorted(items.map(refOf)), ['component:default/indexer', 'component:default/refreshme', 'resource:default/search-db']);
});

check('getEntities({filter: CATALOG_FILTER_EXISTS}) tests existence', async () => {
  const { items } = await client.getEntities({ filter: { kind: 'component', 'spec.system': CATALOG_FILTER_EXISTS } }, alice);
  assert.deepEqual(sorted(names(items)), ['billing', 'orders']);
  const tagged = await client.getEntities({ filter: { 'metadata.tags': 'java' } }, alice);
  assert.deepEqual(sorted(names(tagged.items)), ['billing', 'orders']);
});

check('getEntities({filter: relations}) follows relations', async () => {
  const { items } = await client.getEntities({ filter: { kind: 'component', 'relations.ownedBy': 'group:default/search' } }, alice);
  assert.deepEqual(sorted(names(items)), searchComponents);
});

check('getEntities({fields}) keeps only the fields asked for', async () => {
  const { items } = await client.getEntities({ filter: { kind: 'system' }, fields: ['kind', 'metadata.name'] }, alice);
  assert.deepEqual(items, [{ kind: 'System', metadata: { name: 'shop' } }]);
});

check('getEntities({order}) sorts, in both directions', async () => {
  const desc = await client.getEntities({ filter: { kind: 'component' }, order: { field: 'metadata.name', order: 'desc' } }, alice);
  const all = [...paymentsComponents, ...searchComponents].sort(compareNames);
  assert.deepEqual(names(desc.items), [...all].reverse());
  const byOwner = await client.getEntities({
    filter: { kind: 'component' },
    order: [{ field: 'spec.owner', order: 'asc' }, { field: 'metadata.name', order: 'desc' }],
  }, alice);
  assert.deepEqual(names(byOwner.items), [...paymentsComponents].reverse().concat([...searchComponents].reverse()));
});

check('getEntities({limit, offset}) pages through the order', async () => {
  const order = { field: 'metadata.name', order: 'asc' };
  const all = [...paymentsComponents, ...searchComponents].sort(compareNames);
  const first = await client.getEntities({ filter: { kind: 'component' }, order, limit: 2 }, alice);
  const second = await client.getEntities({ filter: { kind: 'component' }, order, limit: 2, offset: 2 }, alice);
  const rest = await client.getEntities({ filter: { kind: 'component' }, order, offset: 4 }, alice);
  assert.deepEqual(names(first.items), all.slice(0, 2));
  assert.deepEqual(names(second.items), all.slice(2, 4));
  assert.deepEqual(names(rest.items), all.slice(4));
});

// ---- getEntitiesByRefs

check('getEntitiesByRefs() answers in order, undefined for missing', async () => {
  const { items } = await client.getEntitiesByRefs({
    entityRefs: ['component:default/orders', 'component:default/nope', 'Component:indexer', 'api:orders-api'],
  }, alice);
  assert.equal(items.length, 4);
  assert.equal(items[0].metadata.name, 'orders');
  assert.equal(items[1], undefined);
  assert.equal(items[2].metadata.name, 'indexer');
  assert.equal(items[3].kind, 'API');
});

check('getEntitiesByRefs({fields})', async () => {
  const { items } = await client.getEntitiesByRefs({ entityRefs: ['component:default/orders'], fields: ['metadata.name', 'spec.owner'] }, alice);
  assert.deepEqual(items, [{ metadata: { name: 'orders' }, spec: { owner: 'group:default/payments' } }]);
});

check('getEntitiesByRefs({filter}) leaves out what the filter does not match', async () => {
  const { items } = await client.getEntitiesByRefs({
    entityRefs: ['component:default/orders', 'component:default/indexer'],
    filter: { 'spec.lifecycle': 'production' },
  }, alice);
  assert.equal(items[0]?.metadata.name, 'orders');
  assert.equal(items[1], undefined);
});

check('getEntitiesByRefs({query}) filters with a predicate', async () => {
  const { items } = await client.getEntitiesByRefs({
    entityRefs: ['component:default/orders', 'component:default/indexer', 'component:default/crawler'],
    query: { 'spec.lifecycle': { $in: ['experimental'] } },
  }, alice);
  assert.deepEqual(items.map(e => e?.metadata.name), [undefined, 'indexer', undefined]);
});

check('getEntitiesByRefs({query, filter}) needs both', async () => {
  const { items } = await client.getEntitiesByRefs({
    entityRefs: ['component:default/orders', 'component:default/billing', 'component:default/indexer'],
    query: { 'metadata.tags': 'java' },
    filter: { 'spec.type': 'website' },
    fields: ['metadata.name'],
  }, alice);
  assert.deepEqual(items, [undefined, { metadata: { name: 'billing' } }, undefined]);
});

// ---- queryEntities

check('queryEntities() answers a page with totalItems and pageInfo', async () => {
  const res = await client.queryEntities(undefined, alice);
  assert.ok(Array.isArray(res.items) && res.items.length === 20, `${res.items.length} items, want the default 20`);
  assert.ok(res.totalItems > 20, `totalItems ${res.totalItems}`);
  assert.equal(typeof res.pageInfo.nextCursor, 'string');
});

check('queryEntities({filter, limit}) and its cursors walk every match once, both ways', async () => {
  const first = await client.queryEntities({ filter: { kind: 'component' }, limit: 2 }, alice);
  assert.equal(first.totalItems, 5);
  assert.equal(first.pageInfo.prevCursor, undefined);
  const seen = names(first.items);
  const pages = [first];
  let res = first;
  while (res.pageInfo.nextCursor) {
    res = await client.queryEntities({ cursor: res.pageInfo.nextCursor, limit: 2 }, alice);
    assert.equal(res.totalItems, 5);
    pages.push(res);
    seen.push(...names(res.items));
  }
  assert.equal(pages.length, 3);
  assert.deepEqual(sorted(seen), sorted([...paymentsComponents, ...searchComponents]));
  const back = await client.queryEntities({ cursor: pages[2].pageInfo.prevCursor, limit: 2 }, alice);
  assert.deepEqual(names(back.items), names(pages[1].items));
});

check('queryEntities({orderFields, fields}) sorts and projects', async () => {
  const res = await client.queryEntities({
    filter: { kind: 'component' },
    orderFields: { field: 'metadata.name', order: 'desc' },
    fields: ['metadata.name'],
    limit: 3,
  }, alice);
  const all = [...paymentsComponents, ...searchComponents].sort(compareNames).reverse();
  assert.deepEqual(res.items, all.slice(0, 3).map(name => ({ metadata: { name } })));
  const next = await client.queryEntities({ cursor: res.pageInfo.nextCursor, fields: ['metadata.name'] }, alice);
  assert.deepEqual(names(next.items), all.slice(3));
});

check('queryEntities({offset})', async () => {
  const res = await client.queryEntities({ filter: { kind: 'component' }, orderFields: [{ field: 'metadata.name', order: 'asc' }], offset: 3 }, alice);
  assert.deepEqual(names(res.items), [...paymentsComponents, ...searchComponents].sort(compareNames).slice(3));
  assert.equal(res.totalItems, 5);
});

check('queryEntities({fullTextFilter})', async () => {
  const res = await client.queryEntities({ filter: { kind: 'component' }, fullTextFilter: { term: 'ORD', fields: ['metadata.name'] } }, alice);
  assert.deepEqual(names(res.items), ['orders']);
  assert.equal(res.totalItems, 1);
});

check('queryEntities({totalItems: "exclude"})', async () => {
  const res = await client.queryEntities({ filter: { kind: 'component' }, totalItems: 'exclude', limit: 10 }, alice);
  assert.equal(res.items.length, 5);
  assert.equal(typeof res.totalItems, 'number');
});

check('queryEntities({query}) filters with a predicate', async () => {
  const res = await client.queryEntities({
    query: { $all: [{ kind: 'component' }, { $any: [{ 'spec.type': 'website' }, { 'spec.lifecycle': 'experimental' }] }] },
  }, alice);
  assert.deepEqual(sorted(names(res.items)), ['billing', 'indexer', 'refreshme']);
  assert.equal(res.totalItems, 3);
});

check('queryEntities({query}) with $not, $exists, $hasPrefix and $contains', async () => {
  // $not beside other keys is not a predicate (as in Backstage); $all combines them.
  await rejects(client.queryEntities({ query: { kind: 'component', $not: { 'spec.owner': 'group:default/search' } } }, alice),
    400, 'InputError', /\$not/);
  const res = await client.queryEntities({
    query: { $all: [{ kind: 'component' }, { $not: { 'spec.owner': 'group:default/search' } }, { 'spec.system': { $exists: true } }] },
  }, alice);
  assert.deepEqual(sorted(names(res.items)), ['billing', 'orders']);
  const prefix = await client.queryEntities({ query: { 'metadata.name': { $hasPrefix: 'ORD' } } }, alice);
  assert.deepEqual(sorted(prefix.items.map(refOf)), ['api:default/orders-api', 'component:default/orders', 'location:default/orders-more']);
  const owned = await client.queryEntities({
    query: { relations: { $contains: { type: 'ownedBy', targetRef: 'group:default/search' } } },
  }, alice);
  assert.deepEqual(sorted(owned.items.map(refOf)), ['component:default/crawler', 'component:default/indexer', 'resource:default/search-db']);
  const tag = await client.queryEntities({ query: { 'metadata.tags': { $contains: 'java' } } }, alice);
  assert.deepEqual(sorted(names(tag.items)), ['billing', 'orders']);
});

check('queryEntities({query, orderFields, limit}) pages in order through its cursors', async () => {
  const query = { kind: { $in: ['component', 'resource'] } };
  const want = [...paymentsComponents, ...searchComponents, 'search-db'].sort(compareNames).reverse();
  const first = await client.queryEntities({ query, orderFields: { field: 'metadata.name', order: 'desc' }, limit: 4 }, alice);
  assert.deepEqual(names(first.items), want.slice(0, 4));
  assert.equal(first.totalItems, 6);
  const second = await client.queryEntities({ cursor: first.pageInfo.nextCursor, limit: 4 }, alice);
  assert.deepEqual(names(second.items), want.slice(4));
  assert.equal(second.pageInfo.nextCursor, undefined);
  const back = await client.queryEntities({ cursor: second.pageInfo.prevCursor, limit: 4 }, alice);
  assert.deepEqual(names(back.items), want.slice(0, 4));
});

check('queryEntities({query, offset, totalItems, fields, fullTextFilter})', async () => {
  const res = await client.queryEntities({
    query: { kind: 'component' },
    orderFields: [{ field: 'metadata.name', order: 'asc' }],
    offset: 1,
    limit: 2,
    totalItems: 'include',
    fields: ['metadata.name'],
  }, alice);
  assert.deepEqual(res.items, ['billing', 'crawler', 'indexer'].slice(1).map(name => ({ metadata: { name } })));
  assert.equal(res.totalItems, 5);
  const text = await client.queryEntities({ query: { kind: 'component' }, fullTextFilter: { term: 'index', fields: ['metadata.name'] } }, alice);
  assert.deepEqual(names(text.items), ['indexer']);
  const excluded = await client.queryEntities({ query: { kind: 'component' }, totalItems: 'exclude' }, alice);
  assert.equal(excluded.items.length, 5);
});

check('queryEntities({query, filter}) needs both', async () => {
  const res = await client.queryEntities({ query: { 'metadata.tags': 'java' }, filter: { 'spec.type': 'service' } }, alice);
  assert.deepEqual(names(res.items), ['orders']);
});

check('queryEntities refuses a bad predicate with an InputError', async () => {
  await rejects(client.queryEntities({ query: { kind: { $regex: '.*' } } }, alice), 400, 'InputError', /\$regex/);
});

// ---- streamEntities

check('streamEntities() yields every entity once, a page at a time', async () => {
  const pages = await collect(client.streamEntities({ pageSize: 7 }, alice));
  const { items } = await client.getEntities(undefined, alice);
  assert.ok(pages.length > 1, `${pages.length} pages`);
  assert.ok(pages.slice(0, -1).every(p => p.length === 7), `page sizes ${pages.map(p => p.length)}`);
  const refs = pages.flat().map(refOf);
  assert.equal(new Set(refs).size, refs.length, 'an entity streamed twice');
  assert.deepEqual(sorted(refs), sorted(items.map(refOf)));
});

check('streamEntities({filter, fields, orderFields})', async () => {
  const pages = await collect(client.streamEntities({
    filter: { kind: 'component' }, fields: ['metadata.name'], orderFields: { field: 'metadata.name', order: 'asc' }, pageSize: 2,
  }, alice));
  assert.deepEqual(pages.map(p => p.map(e => e.metadata.name)), [['billing', 'crawler'], ['indexer', 'orders'], ['refreshme']]);
});

check('streamEntities({query}) streams a predicate query', async () => {
  const pages = await collect(client.streamEntities({ query: { 'spec.owner': 'group:default/payments' }, pageSize: 2 }, alice));
  assert.ok(pages.length >= 2, `${pages.length} pages`);
  assert.deepEqual(sorted(pages.flat().map(refOf)), ['api:default/orders-api', 'component:default/billing', 'component:default/orders',
    'component:default/refreshme', 'system:default/shop']);
});

check('streamEntities({query, orderFields})', async () => {
  const pages = await collect(client.streamEntities({
    query: { kind: 'component' }, orderFields: { field: 'metadata.name', order: 'desc' }, pageSize: 3,
  }, alice));
  assert.deepEqual(pages.flat().map(e => e.metadata.name), [...paymentsComponents, ...searchComponents].sort(compareNames).reverse());
});

// ---- single entities

check('getEntityAncestors() walks up to the registered file', async () => {
  const res = await client.getEntityAncestors({ entityRef: 'component:default/billing' }, alice);
  assert.equal(res.rootEntityRef, 'component:default/billing');
  assert.deepEqual(res.items.map(i => refOf(i.entity)), ['component:default/billing', 'location:default/orders-more']);
  assert.deepEqual(res.items[0].parentEntityRefs, ['location:default/orders-more']);
  await rejects(client.getEntityAncestors({ entityRef: 'component:default/nope' }, alice), 404, 'NotFoundError');
});

check('getEntityByRef() by string and by compound ref; undefined when missing', async () => {
  const byString = await client.getEntityByRef('component:default/orders', alice);
  const byCompound = await client.getEntityByRef({ kind: 'Component', namespace: 'default', name: 'orders' }, alice);
  const short = await client.getEntityByRef('component:orders', alice);
  assert.equal(byString.spec.lifecycle, 'production');
  assert.deepEqual(byCompound, byString);
  assert.deepEqual(short, byString);
  assert.equal(await client.getEntityByRef('component:default/nope', alice), undefined);
});

check('getEntityByName() (deprecated)', async () => {
  const e = await client.getEntityByName({ kind: 'API', namespace: 'default', name: 'orders-api' }, alice);
  assert.equal(e.spec.type, 'openapi');
  assert.equal(await client.getEntityByName({ kind: 'API', namespace: 'default', name: 'nope' }, alice), undefined);
});

// ---- facets

function facetMap(list) {
  return Object.fromEntries(list.map(f => [f.value, f.count]));
}

check('getEntityFacets({facets}) counts values', async () => {
  const { facets } = await client.getEntityFacets({ facets: ['kind', 'metadata.tags'] }, alice);
  const kinds = facetMap(facets.kind);
  assert.equal(kinds.Component, 5);
  assert.equal(kinds.Resource, 1);
  assert.ok(kinds.User >= 6 && kinds.Group >= 3 && kinds.Template >= 1, JSON.stringify(kinds));
  const tags = facetMap(facets['metadata.tags']);
  assert.equal(tags.java, 2, JSON.stringify(tags));
  assert.equal(tags.payments, 1, JSON.stringify(tags));
});

check('getEntityFacets({facets, filter})', async () => {
  const { facets } = await client.getEntityFacets({ facets: ['spec.lifecycle', 'spec.owner'], filter: { kind: 'component' } }, alice);
  assert.deepEqual(facetMap(facets['spec.lifecycle']), { experimental: 2, production: 3 });
  assert.deepEqual(facetMap(facets['spec.owner']), { 'group:default/payments': 3, 'group:default/search': 2 });
});

check('getEntityFacets({facets, query}) filters with a predicate', async () => {
  const { facets } = await client.getEntityFacets({
    facets: ['spec.type'],
    query: { $all: [{ kind: 'component' }, { 'spec.owner': 'group:default/payments' }] },
  }, alice);
  assert.deepEqual(facetMap(facets['spec.type']), { service: 2, website: 1 });
});

check('getEntityFacets({facets, query, filter}) needs both', async () => {
  const { facets } = await client.getEntityFacets({
    facets: ['metadata.name'], query: { kind: 'component' }, filter: { 'spec.lifecycle': 'experimental' },
  }, alice);
  assert.deepEqual(facetMap(facets['metadata.name']), { indexer: 1, refreshme: 1 });
});

// ---- locations

check('getLocations() lists the registered locations', async () => {
  const { items } = await client.getLocations({}, alice);
  for (const target of [fixture.orders, fixture.indexer, fixture.refresh]) {
    const l = items.find(x => x.target === target);
    assert.ok(l, `no location for ${target}`);
    assert.equal(l.type, 'url');
    assert.match(l.id, /^[0-9a-f-]{36}$/);
  }
});

check('getLocationById() and undefined for an unknown id', async () => {
  const { items } = await client.getLocations({}, alice);
  const orders = items.find(x => x.target === fixture.orders);
  assert.deepEqual(await client.getLocationById(orders.id, alice), orders);
  assert.equal(await client.getLocationById('00000000-0000-4000-8000-000000000000', alice), undefined);
});

check('getLocationByRef() finds a location by its url:target ref', async () => {
  const l = await client.getLocationByRef(`url:${fixture.indexer}`, alice);
  assert.equal(l.target, fixture.indexer);
  assert.equal(await client.getLocationByRef(`url:${fixture.ledger}`, alice), undefined);
});

check('getLocationByEntity() for a registered entity; undefined when missing', async () => {
  const l = await client.getLocationByEntity('component:default/billing', alice);
  assert.equal(l.target, fixture.orders);
  const byCompound = await client.getLocationByEntity({ kind: 'component', namespace: 'default', name: 'indexer' }, alice);
  assert.equal(byCompound.target, fixture.indexer);
  assert.equal(await client.getLocationByEntity('component:default/nope', alice), undefined);
});

check('a location\'s entityRef names its Location entity', async () => {
  const l = await client.getLocationByRef(`url:${fixture.orders}`, alice);
  assert.equal(typeof l.entityRef, 'string');
  const e = await client.getEntityByRef(l.entityRef, alice);
  assert.equal(e?.kind, 'Location');
  assert.equal(e.spec.target, fixture.orders);
});

check('queryLocations() answers items, totalItems and pageInfo', async () => {
  const all = await client.getLocations({}, alice);
  const res = await client.queryLocations({}, alice);
  assert.equal(res.totalItems, res.items.length);
  assert.deepEqual(sorted(res.items.map(l => l.id)), sorted(all.items.map(l => l.id)));
  assert.equal(res.pageInfo.nextCursor, undefined);
});

check('queryLocations({query}) filters by target and type', async () => {
  const res = await client.queryLocations({ query: { target: { $hasPrefix: `${base}/git/search/` } } }, alice);
  assert.deepEqual(res.items.map(l => l.target), [fixture.indexer]);
  assert.equal(res.totalItems, 1);
  const none = await client.queryLocations({ query: { type: 'file' } }, alice);
  assert.deepEqual(none, { items: [], totalItems: 0, pageInfo: {} });
  const either = await client.queryLocations({ query: { target: { $in: [fixture.orders.toUpperCase(), fixture.refresh] } } }, alice);
  assert.deepEqual(sorted(either.items.map(l => l.target)), sorted([fixture.orders, fixture.refresh]));
});

check('queryLocations({limit}) pages with cursors', async () => {
  const query = { target: { $hasPrefix: `${base}/git/` } };
  const first = await client.queryLocations({ limit: 2, query }, alice);
  assert.equal(first.items.length, 2);
  assert.equal(first.totalItems, 3);
  const second = await client.queryLocations({ cursor: first.pageInfo.nextCursor }, alice);
  assert.equal(second.items.length, 1);
  assert.equal(second.pageInfo.nextCursor, undefined);
  assert.deepEqual(sorted([...first.items, ...second.items].map(l => l.target)), sorted([fixture.orders, fixture.indexer, fixture.refresh]));
});

check('streamLocations() yields every location once', async () => {
  const pages = await collect(client.streamLocations({ limit: 1 }, alice));
  const all = await client.getLocations({}, alice);
  assert.ok(pages.every(p => p.length === 1));
  assert.deepEqual(sorted(pages.flat().map(l => l.id)), sorted(all.items.map(l => l.id)));
  const payments = await collect(client.streamLocations({ query: { target: { $hasPrefix: `${base}/git/payments/` } } }, alice));
  assert.deepEqual(sorted(payments.flat().map(l => l.target)), sorted([fixture.orders, fixture.refresh]));
});

// ---- registering

check('addLocation({dryRun}) previews a new location\'s entities', async () => {
  const res = await client.addLocation({ target: fixture.ledger, dryRun: true }, seadev);
  assert.equal(res.exists, false);
  assert.equal(res.location.type, 'url');
  assert.equal(res.location.target, fixture.ledger);
  assert.deepEqual(res.entities.map(refOf), ['component:default/ledger']);
  assert.equal(await client.getEntityByRef('component:default/ledger', alice), undefined);
});

check('addLocation({dryRun}) of a registered location says it exists', async () => {
  const res = await client.addLocation({ type: 'url', target: fixture.orders, dryRun: true }, alice);
  assert.equal(res.exists, true);
  assert.deepEqual(sorted(res.entities.map(refOf)), ['api:default/orders-api', 'component:default/billing', 'component:default/orders',
    'location:default/orders-more', 'system:default/shop']);
});

check('addLocation({dryRun}) reports entities another location keeps', async () => {
  await rejects(client.addLocation({ target: fixture.clash, dryRun: true }, alice), 400, 'InputError', /component:default\/orders/);
});

check('addLocation() of another team\'s file is refused', async () => {
  await rejects(client.addLocation({ target: fixture.ledger }, seadev), 403, 'NotAllowedError', /payments/);
});

check('addLocation() registers and reads the file at once', async () => {
  const res = await client.addLocation({ target: fixture.ledger }, alice);
  assert.match(res.location.id, /^[0-9a-f-]{36}$/);
  assert.equal(res.location.target, fixture.ledger);
  assert.ok(Array.isArray(res.entities));
  assert.equal(res.exists, undefined);
  const ledger = await client.getEntityByRef('component:default/ledger', alice);
  assert.equal(ledger.spec.owner, 'group:default/payments');
  assert.deepEqual(await client.getLocationById(res.location.id, alice), res.location);
});

check('addLocation() of a registered location is a ConflictError', async () => {
  await rejects(client.addLocation({ target: fixture.ledger }, alice), 409, 'ConflictError', /already exists/);
});

check('addLocation({onConflict: "refresh"}) answers the registered location', async () => {
  const registered = await client.getLocationByRef(`url:${fixture.ledger}`, alice);
  const res = await client.addLocation({ target: fixture.ledger, onConflict: 'refresh' }, alice);
  assert.deepEqual(res.location, registered);
  await rejects(client.addLocation({ target: fixture.ledger, onConflict: 'refresh' }, seadev), 403, 'NotAllowedError');
});

check('updateLocation() is the owner\'s, and moves the location to its new target', async () => {
  const before = await client.getLocationByRef(`url:${fixture.ledger}`, alice);
  await rejects(client.updateLocation(before.id, { target: fixture.ledgerNext }, seadev), 403, 'NotAllowedError', /payments/);
  // Moving it into another team's repository would register that team's files without them.
  await rejects(client.updateLocation(before.id, { target: fixture.searchOther }, alice), 403, 'NotAllowedError', /search/);
  await rejects(client.updateLocation(before.id, { type: 'url', target: fixture.orders }, alice), 409, 'ConflictError', /already exists/);
  const moved = await client.updateLocation(before.id, { type: 'url', target: fixture.ledgerNext }, alice);
  assert.deepEqual(moved, { ...before, target: fixture.ledgerNext });
  assert.deepEqual(await client.getLocationById(before.id, alice), moved);
  const next = await client.getEntityByRef('component:default/ledger-next', alice);
  assert.equal(next?.metadata.name, 'ledger-next');
  const l = await client.getLocationByEntity('component:default/ledger-next', alice);
  assert.equal(l.id, before.id);
  await rejects(client.updateLocation('00000000-0000-4000-8000-000000000000', { target: fixture.ledger }, alice), 404, 'NotFoundError');
});

check('removeLocationById() is the owner\'s, and removes its entities', async () => {
  const l = await client.getLocationByRef(`url:${fixture.ledgerNext}`, alice);
  await rejects(client.removeLocationById(l.id, seadev), 403, 'NotAllowedError', /payments/);
  await client.removeLocationById(l.id, alice);
  assert.equal(await client.getLocationById(l.id, alice), undefined);
  assert.equal(await client.getEntityByRef('component:default/ledger-next', alice), undefined);
  await rejects(client.removeLocationById(l.id, alice), 404, 'NotFoundError');
});

// ---- changes to entities

check('refreshEntity() reads the file again, for its owner', async () => {
  const before = await client.getEntityByRef('component:default/refreshme', alice);
  assert.equal(before.spec.lifecycle, 'experimental');
  await rejects(client.refreshEntity('component:default/refreshme', seadev), 403, 'NotAllowedError', /would change/);
  await client.refreshEntity('component:default/refreshme', alice);
  const after = await client.getEntityByRef('component:default/refreshme', alice);
  assert.equal(after.spec.lifecycle, 'production');
  await client.refreshEntity('component:default/refreshme', seadev); // changes nothing now: anyone may
  await rejects(client.refreshEntity('component:default/nope', alice), 404, 'NotFoundError');
});

check('removeEntityByUid() is the owner\'s; an entity its file still holds comes back', async () => {
  const billing = await client.getEntityByRef('component:default/billing', alice);
  await rejects(client.removeEntityByUid(billing.metadata.uid, seadev), 403, 'NotAllowedError', /payments/);
  await client.removeEntityByUid(billing.metadata.uid, alice);
  const again = await client.getEntityByRef('component:default/billing', alice);
  assert.ok(again, 'billing did not come back from its file');
  assert.notEqual(again.metadata.uid, billing.metadata.uid);
  await rejects(client.removeEntityByUid(billing.metadata.uid, alice), 404, 'NotFoundError');
});

check('removeEntityByUid() of goldenpath\'s own entity is refused', async () => {
  const group = await client.getEntityByRef('group:default/payments', alice);
  await rejects(client.removeEntityByUid(group.metadata.uid, alice), 403, 'NotAllowedError', /goldenpath/);
});

// ---- validation and analysis

check('validateEntity() of a valid entity', async () => {
  const res = await client.validateEntity({
    apiVersion: 'backstage.io/v1alpha1', kind: 'Component',
    metadata: { name: 'fine' }, spec: { type: 'service', lifecycle: 'production', owner: 'group:default/payments' },
  }, `url:${fixture.ledger}`, alice);
  assert.deepEqual(res, { valid: true });
});

check('validateEntity() of an invalid entity lists its errors', async () => {
  const res = await client.validateEntity({
    apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'Not Valid!' }, spec: { type: 'service', owner: 'x' },
  }, `url:${fixture.ledger}`, alice);
  assert.equal(res.valid, false);
  assert.ok(res.errors.length >= 1);
  assert.ok(res.errors.every(e => typeof e.name === 'string' && typeof e.message === 'string'), JSON.stringify(res.errors));
  assert.ok(res.errors.some(e => /metadata\.name/.test(e.message)), JSON.stringify(res.errors));
});

check('analyzeLocation() of a registered file', async () => {
  const res = await client.analyzeLocation({ location: { type: 'url', target: fixture.indexer } }, alice);
  assert.deepEqual(res.generateEntities, []);
  assert.deepEqual(sorted(res.existingEntityFiles.map(f => refOf(f.entity))), ['component:default/crawler', 'component:default/indexer',
    'resource:default/search-db']);
  assert.ok(res.existingEntityFiles.every(f => f.isRegistered && f.location.target === fixture.indexer));
});

check('analyzeLocation() of a repository folder finds its catalog file', async () => {
  const res = await client.analyzeLocation({ location: { type: 'url', target: `${base}/git/search/indexer/tree/main` } }, alice);
  assert.deepEqual(res.generateEntities, []);
  assert.equal(res.existingEntityFiles.length, 3);
  assert.ok(res.existingEntityFiles.every(f => f.isRegistered && f.location.target === fixture.indexer), JSON.stringify(res.existingEntityFiles.map(f => f.location)));
});

check('analyzeLocation() of a repository without a catalog file suggests a Component', async () => {
  const res = await client.analyzeLocation({ location: { type: 'url', target: `${fixture.empty}/tree/main` } }, alice);
  assert.deepEqual(res.existingEntityFiles, []);
  assert.equal(res.generateEntities.length, 1);
  assert.equal(res.generateEntities[0].entity.kind, 'Component');
  assert.equal(res.generateEntities[0].entity.metadata.name, 'empty');
  assert.ok(res.generateEntities[0].fields.some(f => f.field === 'spec.owner'));
});

check('every call needs a token', async () => {
  await rejects(client.getEntities(), 401, 'AuthenticationError');
});

async function main() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const [i, { name, fn }] of checks.entries()) {
    if (limits[name]) {
      skipped++;
      console.log(`skip ${i + 1} - ${name}: ${limits[name]}`);
      continue;
    }
    try {
      await fn();
      passed++;
      console.log(`ok ${i + 1} - ${name}`);
    } catch (err) {
      failed++;
      console.log(`not ok ${i + 1} - ${name}`);
      console.log(`  ${String(err && err.stack ? err.stack : err).split("\n").filter(l => !l.trim().startsWith("at ")).slice(0, 30).join('\n  ')}`);
    }
  }
  console.log(`catalog-client: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main();
