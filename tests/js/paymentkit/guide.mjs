// Payment Kit's credit-based billing guide, its four steps as the guide writes them
// (`import payment from '@blocklet/payment-js'`, top-level await). Only the environment
// points the client at drawdown (see docs/coming-from-paymentkit.md). Run by
// tests/dialects/paymentkit/test_payment_js.py; prints one JSON line of results last.
import payment from '@blocklet/payment-js';

const customerId = process.env.GUIDE_CUSTOMER_ID; // the guide's 'cus_xxx' / user DID

// Step 1: Create a meter to track usage
const meter = await payment.meters.create({
  name: 'API Calls',
  event_name: 'api.calls.invoked', // A unique name for the event you will report
  aggregation_method: 'sum', // Sums the 'value' from all events
  unit: 'calls',
  description: 'Tracks the number of API calls made by a customer.',
});

console.log('Meter created:', meter.id);

// Step 2: Grant credits to a customer
const creditGrant = await payment.creditGrants.create({
  customer_id: customerId,
  amount: '1000', // Grant 1000 credits
  currency_id: meter.currency_id, // Use the currency associated with the meter
  category: 'promotional',
  name: 'New user bonus credits',
  expires_at: Math.floor(Date.now() / 1000) + 30 * 24 * 60 * 60, // Expires in 30 days
});

console.log('Credit grant created:', creditGrant.id);

// Step 3: Report usage
const meterEvent = await payment.meterEvents.create({
  event_name: 'api.calls.invoked', // Must match the meter's event_name
  payload: {
    customer_id: customerId,
    value: '10', // The amount of usage to report (e.g., 10 API calls)
  },
  identifier: `unique_event_id_${Date.now()}`, // An idempotency key to prevent duplicates
  timestamp: Math.floor(Date.now() / 1000),
});

console.log('Usage reported:', meterEvent.id);

// Step 4: Monitor the balance and the transaction history
const creditSummary = await payment.creditGrants.summary({
  customer_id: customerId,
});

console.log('Credit summary:', creditSummary);

const transactions = await payment.creditTransactions.list({
  customer_id: customerId,
  page: 1,
  pageSize: 10,
});

console.log(`Found ${transactions.total} transactions:`);
transactions.data.forEach((tx) => {
  console.log(`- ID: ${tx.id}, Amount: ${tx.credit_amount}, Balance: ${tx.remaining_balance}`);
});

console.log(JSON.stringify({ meter, creditGrant, meterEvent, creditSummary, transactions }));
