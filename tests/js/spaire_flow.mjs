// The seed flow with Spaire's official TypeScript SDK (@spaire/sdk, a fork of Polar's SDK under
// another name, pinned in package.json) against the Polar dialect of a live drawdown server.
// Run by tests/dialects/polar/test_js_sdk.py:
//   POLAR_SERVER_URL=http://127.0.0.1:PORT/polar POLAR_ACCESS_TOKEN=<drawdown key> node spaire_flow.mjs seed
// The SDK validates every response against its models (avatar_url must be a string, dates
// must parse), so a field the dialect shapes wrongly fails the flow at the first call.
import assert from "node:assert/strict";
import { Spaire } from "@spaire/sdk";
import { HTTPValidationError } from "@spaire/sdk/models/errors/httpvalidationerror.js";
import { ResourceNotFound } from "@spaire/sdk/models/errors/resourcenotfound.js";

const spaire = new Spaire({
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

async function seed() {
  const customer = await spaire.customers.create({
    email: "spaire@example.com",
    name: "Spaire User",
    externalId: "spaire_1",
  });
  assert.equal(customer.externalId, "spaire_1");
  assert.ok(customer.avatarUrl.startsWith("https://www.gravatar.com/avatar/"), customer.avatarUrl);
  assert.ok(customer.createdAt instanceof Date);
  assert.deepEqual(await spaire.customers.getExternal({ externalId: "spaire_1" }), customer);

  const meter = await spaire.meters.create({
    name: "API usage",
    filter: { conjunction: "and", clauses: [{ property: "name", operator: "eq", value: "api_usage" }] },
    aggregation: { func: "sum", property: "units" },
  });
  assert.deepEqual(await spaire.meters.get({ id: meter.id }), meter);

  // Credits by a negative event, then usage drawing them down; a retried id counts once.
  const granted = await spaire.events.ingest({
    events: [{ name: "api_usage", externalCustomerId: "spaire_1", metadata: { units: -10 } }],
  });
  assert.deepEqual(granted, { inserted: 1, duplicates: 0 });
  const used = await spaire.events.ingest({
    events: [
      { name: "api_usage", externalCustomerId: "spaire_1", externalId: "spaire-req-1", metadata: { units: 4 } },
      { name: "api_usage", externalCustomerId: "spaire_1", externalId: "spaire-req-1", metadata: { units: 4 } },
    ],
  });
  assert.deepEqual(used, { inserted: 1, duplicates: 1 });

  const page = await spaire.customerMeters.list({ externalCustomerId: "spaire_1" });
  const item = page.result.items[0];
  assert.equal(page.result.pagination.totalCount, 1);
  assert.deepEqual([item.consumedUnits, item.creditedUnits, item.balance], [-6, 0, 6]);
  assert.equal(item.meter.id, meter.id);
  assert.equal(item.customer.avatarUrl, customer.avatarUrl);
  const state = await spaire.customers.getStateExternal({ externalId: "spaire_1" });
  assert.deepEqual(state.activeMeters.map((m) => [m.meterId, m.balance]), [[meter.id, 6]]);

  const invalid = await rejects(
    spaire.customers.create({ email: "other@example.com", externalId: "spaire_1" }),
    HTTPValidationError,
  );
  assert.deepEqual(invalid.detail.map((d) => d.loc), [["body", "external_id"]]);
  await rejects(spaire.customers.getExternal({ externalId: "nobody" }), ResourceNotFound);
  return { customer_id: customer.id, meter_id: meter.id, balance: item.balance };
}

const flows = { seed };
const name = process.argv[2];
if (!(name in flows)) {
  console.error(`unknown flow ${name}; one of ${Object.keys(flows).join(", ")}`);
  process.exit(2);
}
const result = await flows[name]();
console.log(JSON.stringify(result));
