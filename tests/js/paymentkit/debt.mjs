// Usage beyond the balance becomes debt; a top-up grant pays it first. Through
// @blocklet/payment-js against drawdown; prints one JSON line for the Python side.
import payment from '@blocklet/payment-js';

const customerId = process.env.GUIDE_CUSTOMER_ID;
const now = () => Math.floor(Date.now() / 1000);

const meter = await payment.meters.create({
  name: 'Tokens', event_name: 'ai.tokens', aggregation_method: 'sum', unit: 'tokens',
});
await payment.creditGrants.create({
  customer_id: customerId, amount: '5', currency_id: meter.currency_id, category: 'paid',
});
const used = [];
for (const [i, value] of ['3', '4.5'].entries()) {
  used.push(await payment.meterEvents.create({
    event_name: 'ai.tokens', payload: { customer_id: customerId, value },
    identifier: `tokens_${i}`, timestamp: now(),
  }));
}
const pendingBefore = await payment.meterEvents.pendingAmount({ customer_id: customerId });
const summaryBefore = await payment.creditGrants.summary({ customer_id: customerId });
const blocked = await payment.creditGrants.verifyAvailability({
  customer_id: customerId, currency_id: meter.currency_id,
});
const topUp = await payment.creditGrants.create({
  customer_id: customerId, amount: '10', currency_id: meter.currency_id, category: 'paid',
  name: 'Top-up',
});
const pendingAfter = await payment.meterEvents.pendingAmount({ customer_id: customerId });
const summaryAfter = await payment.creditGrants.summary({ customer_id: customerId });
const owedEvent = await payment.meterEvents.retrieve(used[1].id);
const transactions = await payment.creditTransactions.list({ customer_id: customerId, page: 1, pageSize: 10 });
const duplicate = await payment.meterEvents.create({
  event_name: 'ai.tokens', payload: { customer_id: customerId, value: '3' },
  identifier: 'tokens_0', timestamp: now(),
}).then(() => null, (error) => ({ status: error.response?.status, data: error.response?.data }));

console.log(JSON.stringify({
  meter, used, pendingBefore, summaryBefore, blocked, topUp, pendingAfter, summaryAfter,
  owedEvent, transactions, duplicate,
}));
