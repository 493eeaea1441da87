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

const flows = { customers };
const name = process.argv[2];
if (!(name in flows)) {
  console.error(`unknown flow ${name}; one of ${Object.keys(flows).join(", ")}`);
  process.exit(2);
}
const result = await flows[name]();
console.log(JSON.stringify(result));
