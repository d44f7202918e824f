import { createKafka } from '../services/shared/kafka/client.ts';
import { connectionFromEnv } from '../services/shared/kafka/connection.ts';
const kafka = createKafka(connectionFromEnv(), 'probe', (l, m, e) => console.log(l, m, JSON.stringify(e).slice(0, 300)));
const admin = kafka.admin();
await admin.connect();
console.log(JSON.stringify(await admin.fetchOffsets({ groupId: 'dbg1', topics: ['loan-applications'] })));
console.log(JSON.stringify(await admin.fetchTopicOffsets('loan-applications')));
await admin.disconnect();
