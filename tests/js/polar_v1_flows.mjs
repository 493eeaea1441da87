// The flows of polar_flows.mjs with Polar's 1.x TypeScript SDK: the client of a dated API
// version (`createPolar` from "@polar-sh/sdk/2026-10", which sends `Polar-Version: 2026-10`),
// positional ids, snake_case fields, dates as ISO strings. package.json installs it under the
// alias polar-sdk-v1 so it sits beside the 0.x SDK. Run by tests/dialects/polar/test_js_sdk.py:
//   POLAR_SERVER_URL=http://127.0.0.1:PORT/polar POLAR_ACCESS_TOKEN=<drawdown key> node polar_v1_flows.mjs <flow>
import assert from "node:assert/strict";
import { createPolar, errors } from "polar-sdk-v1/2026-10";

const polar = createPolar({
  accessToken: process.env.POLAR_ACCESS_TOKEN,
  baseUrl: process.env.POLAR_SERVER_URL,
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

async function collect(generator) {
  const items = [];
  for await (const item of generator) items.push(item);
  return items;
}

const isoTime = (text) => typeof text === "string" && !Number.isNaN(Date.parse(text));

async function customers() {
  await polar.customers.create({ email: "user@example.com", name: "John Doe", external_id: "user_123" });

  const found = await polar.customers.getExternal("user_123");
  assert.equal(found.email, "user@example.com");
  assert.equal(found.name, "John Doe");
  assert.equal(found.type, "individual");
  assert.ok(isoTime(found.created_at), found.created_at);
  assert.equal(found.modified_at, null);
  assert.deepEqual(await polar.customers.get(found.id), found);

  const updated = await polar.customers.update(found.id, { metadata: { plan: "pro" } });
  assert.deepEqual(updated.metadata, { plan: "pro" });
  assert.ok(isoTime(updated.modified_at), updated.modified_at);
  const renamed = await polar.customers.updateExternal("user_123", { name: "Jane Doe" });
  assert.equal(renamed.name, "Jane Doe");

  const invalid = await rejects(
    polar.customers.create({ email: "other@example.com", external_id: "user_123" }),
    errors.HTTPValidationError,
  );
  assert.equal(invalid.statusCode, 422);
  assert.deepEqual(invalid.error.detail.map((d) => d.loc), [["body", "external_id"]]);
  assert.equal(invalid.error.detail[0].msg, "A customer with this external ID already exists.");

  const ids = [found.id];
  for (let i = 0; i < 4; i++) {
    ids.push((await polar.customers.create({ email: `u${i}@example.com`, external_id: `ext-${i}` })).id);
  }
  // The SDK sends its defaults: page=1, limit=10, sorting=-created_at.
  const first = await polar.customers.list({ limit: 2 });
  assert.equal(first.pagination.total_count, 5);
  assert.equal(first.pagination.max_page, 3);
  const seen = await collect(polar.customers.iterList({ limit: 2 }));
  assert.deepEqual(seen.map((c) => c.id), [...ids].reverse());

  await polar.customers.deleteExternal("ext-0");
  const missing = await rejects(polar.customers.getExternal("ext-0"), errors.ResourceNotFound);
  assert.equal(missing.statusCode, 404);
  await polar.customers.delete(ids[2]);
  await rejects(polar.customers.get(ids[2]), errors.ResourceNotFound);
  return { customer_id: found.id, created: ids.length, deleted: [ids[1], ids[2]] };
}

async function metering() {
  const meter = await polar.meters.create({
    name: "API usage",
    filter: { conjunction: "and", clauses: [{ property: "name", operator: "eq", value: "api_usage" }] },
    aggregation: { func: "sum", property: "units" },
  });
  assert.equal(meter.aggregation.func, "sum");
  assert.deepEqual(await polar.meters.get(meter.id), meter);

  await polar.customers.create({ email: "user@example.com", name: "John Doe", external_id: "user_123" });
  const granted = await polar.events.ingest({
    events: [{ name: "api_usage", external_customer_id: "user_123", metadata: { units: -10 } }],
  });
  assert.deepEqual(granted, { inserted: 1, duplicates: 0 });

  let page = await polar.customerMeters.list({ external_customer_id: "user_123" });
  let item = page.items[0];
  assert.equal(page.pagination.total_count, 1);
  assert.deepEqual([item.consumed_units, item.credited_units, item.balance], [-10, 0, 10]);

  const used = await polar.events.ingest({
    events: [
      { name: "api_usage", external_customer_id: "user_123", external_id: "req-1", metadata: { units: 3 } },
      { name: "api_usage", external_customer_id: "user_123", external_id: "req-2", metadata: { units: 2 } },
      { name: "api_usage", external_customer_id: "user_123", external_id: "req-1", metadata: { units: 3 } },
    ],
  });
  assert.deepEqual(used, { inserted: 2, duplicates: 1 });

  page = await polar.customerMeters.list({ external_customer_id: "user_123" });
  item = page.items[0];
  assert.deepEqual([item.consumed_units, item.credited_units, item.balance], [-5, 0, 5]);
  assert.equal(item.customer.external_id, "user_123");
  assert.equal(item.meter.id, meter.id);
  assert.deepEqual(await polar.customerMeters.get(item.id), item);
  const state = await polar.customers.getStateExternal("user_123");
  assert.deepEqual(state.active_meters.map((m) => [m.meter_id, m.balance, m.credited_units]), [[meter.id, 5, 0]]);
  assert.deepEqual(state.active_subscriptions, []);

  const invalid = await rejects(
    polar.events.ingest({ events: [{ name: "api_usage", customer_id: "0199a3b4-0000-7000-8000-000000000000" }] }),
    errors.HTTPValidationError,
  );
  assert.deepEqual(invalid.error.detail.map((d) => d.loc), [["body", "events", 0, "customer_id"]]);

  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  const day = 24 * 3600 * 1000;
  const quantities = await polar.meters.quantities(meter.id, {
    start_timestamp: new Date(today.getTime() - day).toISOString(),
    end_timestamp: today.toISOString(),
    interval: "day",
  });
  assert.deepEqual(quantities.quantities.map((q) => [Date.parse(q.timestamp), q.quantity]), [
    [today.getTime() - day, 0],
    [today.getTime(), -5],
  ]);
  assert.equal(quantities.total, -5);

  for (let i = 0; i < 3; i++) {
    await polar.customers.create({ email: `m${i}@example.com`, external_id: `m${i}` });
  }
  const meters = await collect(polar.customerMeters.iterList({ limit: 3 }));
  assert.deepEqual(meters.map((m) => m.customer.external_id), ["m2", "m1", "m0", "user_123"]);

  const events = await polar.events.list({ external_customer_id: "user_123", limit: 2, page: 2 });
  assert.equal(events.pagination.total_count, 3);
  assert.equal(events.pagination.max_page, 2);
  assert.deepEqual(events.items.map((e) => e.metadata.units), [-10]);
  assert.equal(events.items[0].customer.external_id, "user_123");
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
