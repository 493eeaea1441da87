// The meters API reference's calls (create, retrieve by id and by event_name, update, list,
// activate, deactivate) through @blocklet/payment-js, against drawdown. Prints one JSON
// line of what the client returned; tests/dialects/paymentkit/test_payment_js.py checks it.
import payment from '@blocklet/payment-js';

const meter = await payment.meters.create({
  name: 'API Calls',
  event_name: 'api_calls',
  aggregation_method: 'sum',
  unit: 'calls',
  description: 'Track API usage',
});

const byId = await payment.meters.retrieve(meter.id);
const byEventName = await payment.meters.retrieve('api_calls');

const updated = await payment.meters.update(meter.id, {
  name: 'API Requests',
  description: 'Track API requests',
  metadata: { team: 'platform' },
});

const list = await payment.meters.list({ page: 1, pageSize: 20 });
const filtered = await payment.meters.list({ event_name: 'api_calls' });

const deactivated = await payment.meters.deactivate(meter.id);
// An inactive meter takes no new events (Payment Kit's rule).
let refused = null;
try {
  await payment.meterEvents.create({
    event_name: 'api_calls',
    payload: { customer_id: 'did:abt:zNotUsedYet', value: '1' },
    identifier: `inactive_${Date.now()}`,
  });
} catch (error) {
  refused = { status: error.response?.status, data: error.response?.data };
}
const activated = await payment.meters.activate(meter.id);

let missing = null;
try {
  await payment.meters.retrieve('no_such_meter');
} catch (error) {
  missing = { status: error.response?.status, data: error.response?.data };
}

console.log(JSON.stringify({ meter, byId, byEventName, updated, list, filtered, deactivated, refused, activated, missing }));
