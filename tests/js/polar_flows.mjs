// Flows of Polar's official TypeScript SDK (@polar-sh/sdk, pinned in package.json) against a
// live drawdown server. Run by tests/dialects/polar/test_js_sdk.py:
//   POLAR_SERVER_URL=http://127.0.0.1:PORT/polar POLAR_ACCESS_TOKEN=<drawdown key> node polar_flows.mjs <flow>
// Each flow asserts what the SDK returns and prints one JSON line for the Python side to
// check against the server's native API.
import assert from "node:assert/strict";
import { Polar } from "@polar-sh/sdk";
import { HTTPValidationError } from "@polar-sh/sdk/models/errors/httpvalidationerror.js";
import { ResourceNotFound } from "@polar-sh/sdk/models/errors/resourcenotfound.js";

const polar = new Polar({
  accessToken: process.env.POLAR_ACCESS_TOKEN,
  serverURL: process.env.POLAR_SERVER_URL,
});

async function rejects(promise, errorClass) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${error}`);
    return error;
  }
  assert.fail(`expected ${errorClass.name}, the call succeeded`);
}

async function customers() {
  // As in Polar's docs (the issue text), verbatim:
  await polar.customers.create({ email: "user@example.com", name: "John Doe", externalId: "user_123" });

  const found = await polar.customers.getExternal({ externalId: "user_123" });
  assert.equal(found.email, "user@example.com");
  assert.equal(found.name, "John Doe");
  assert.equal(found.type, "individual");
  assert.ok(found.createdAt instanceof Date);
  assert.equal(found.modifiedAt, null);
  assert.deepEqual(await polar.customers.get({ id: found.id }), found);

  const updated = await polar.customers.update({ id: found.id, customerUpdate: { metadata: { plan: "pro" } } });
  assert.deepEqual(updated.metadata, { plan: "pro" });
  assert.ok(updated.modifiedAt instanceof Date);
  const renamed = await polar.customers.updateExternal({
    externalId: "user_123",
    customerUpdateExternalID: { name: "Jane Doe" },
  });
  assert.equal(renamed.name, "Jane Doe");

  const invalid = await rejects(
    polar.customers.create({ email: "other@example.com", externalId: "user_123" }),
    HTTPValidationError,
  );
  assert.deepEqual(invalid.detail.map((d) => d.loc), [["body", "external_id"]]);
  assert.equal(invalid.detail[0].msg, "A customer with this external ID already exists.");

  const ids = [found.id];
  for (let i = 0; i < 4; i++) {
    ids.push((await polar.customers.create({ email: `u${i}@example.com`, externalId: `ext-${i}` })).id);
  }
  const seen = [];
  let pages = 0;
  for await (const page of await polar.customers.list({ limit: 2 })) {
    pages += 1;
    assert.equal(page.result.pagination.totalCount, 5);
    assert.equal(page.result.pagination.maxPage, 3);
    seen.push(...page.result.items.map((c) => c.id));
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, [...ids].reverse());

  await polar.customers.deleteExternal({ externalId: "ext-0" });
  await rejects(polar.customers.getExternal({ externalId: "ext-0" }), ResourceNotFound);
  await polar.customers.delete({ id: ids[2] });
  await rejects(polar.customers.get({ id: ids[2] }), ResourceNotFound);
  return { customer_id: found.id, created: ids.length, deleted: [ids[1], ids[2]] };
}

async function metering() {
  const meter = await polar.meters.create({
    name: "API usage",
    filter: { conjunction: "and", clauses: [{ property: "name", operator: "eq", value: "api_usage" }] },
    aggregation: { func: "sum", property: "units" },
  });
  assert.equal(meter.aggregation.func, "sum");
  assert.deepEqual(await polar.meters.get({ id: meter.id }), meter);

  // As in Polar's docs (the issue text), verbatim:
  await polar.customers.create({ email: "user@example.com", name: "John Doe", externalId: "user_123" });
  await polar.events.ingest({ events: [{ name: "api_usage", externalCustomerId: "user_123",
                                         metadata: { units: -10 } }] });   // grants 10 credits

  let page = await polar.customerMeters.list({ externalCustomerId: "user_123" });
  let item = page.result.items[0];
  assert.equal(page.result.pagination.totalCount, 1);
  assert.deepEqual([item.consumedUnits, item.creditedUnits, item.balance], [-10, 0, 10]);

  const used = await polar.events.ingest({
    events: [
      { name: "api_usage", externalCustomerId: "user_123", externalId: "req-1", metadata: { units: 3 } },
      { name: "api_usage", externalCustomerId: "user_123", externalId: "req-2", metadata: { units: 2 } },
      { name: "api_usage", externalCustomerId: "user_123", externalId: "req-1", metadata: { units: 3 } },
    ],
  });
  assert.deepEqual(used, { inserted: 2, duplicates: 1 });
  const retried = await polar.events.ingest({
    events: [{ name: "api_usage", externalCustomerId: "user_123", externalId: "req-2", metadata: { units: 2 } }],
  });
  assert.deepEqual(retried, { inserted: 0, duplicates: 1 });

  page = await polar.customerMeters.list({ externalCustomerId: "user_123" });
  item = page.result.items[0];
  assert.deepEqual([item.consumedUnits, item.creditedUnits, item.balance], [-5, 0, 5]);
  assert.equal(item.customer.externalId, "user_123");
  assert.equal(item.meter.id, meter.id);
  assert.deepEqual(await polar.customerMeters.get({ id: item.id }), item);
  const state = await polar.customers.getStateExternal({ externalId: "user_123" });
  assert.deepEqual(state.activeMeters.map((m) => [m.meterId, m.balance, m.creditedUnits]), [[meter.id, 5, 0]]);
  assert.deepEqual(state.activeSubscriptions, []);

  const invalid = await rejects(
    polar.events.ingest({ events: [{ name: "api_usage", customerId: "0199a3b4-0000-7000-8000-000000000000" }] }),
    HTTPValidationError,
  );
  assert.deepEqual(invalid.detail.map((d) => d.loc), [["body", "events", 0, "customer_id"]]);

  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  const day = 24 * 3600 * 1000;
  const quantities = await polar.meters.quantities({
    id: meter.id,
    startTimestamp: new Date(today.getTime() - day),
    endTimestamp: today,
    interval: "day",
  });
  assert.deepEqual(quantities.quantities.map((q) => [q.timestamp.getTime(), q.quantity]), [
    [today.getTime() - day, 0],
    [today.getTime(), -5],
  ]);
  assert.equal(quantities.total, -5);

  for (let i = 0; i < 3; i++) {
    await polar.customers.create({ email: `m${i}@example.com`, externalId: `m${i}` });
  }
  const customerIds = [];
  let pages = 0;
  for await (const result of await polar.customerMeters.list({ limit: 3 })) {
    pages += 1;
    assert.equal(result.result.pagination.totalCount, 4);
    customerIds.push(...result.result.items.map((i) => i.customer.externalId));
  }
  assert.equal(pages, 2);
  assert.deepEqual(customerIds, ["m2", "m1", "m0", "user_123"]);

  // events.list is not paginated by this SDK: it returns the page itself.
  const events = await polar.events.list({ externalCustomerId: "user_123", limit: 2, page: 2 });
  assert.equal(events.pagination.totalCount, 3);
  assert.equal(events.pagination.maxPage, 2);
  assert.deepEqual(events.items.map((e) => e.metadata.units), [-10]);
  assert.equal(events.items[0].customer.externalId, "user_123");
  return { meter_id: meter.id, customer_meter_id: item.id, balance: item.balance };
}

const flows = { customers, metering };
const name = process.argv[2];
if (!(name in flows)) {
  console.error(`unknown flow ${name}; one of ${Object.keys(flows).join(", ")}`);
  process.exit(2);
}
const result = await flows[name]();
console.log(JSON.stringify(result));
