// GET /approve?token=...: the approver's link. Answers the waiting Step Functions task.
// nodejs20.x: the runtime bundles the AWS SDK for JavaScript v3.
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';

const sfn = new SFNClient({});
const GONE = new Set(['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken']);

function page(statusCode, message) {
  return {
    statusCode,
    headers: { 'Content-Type': 'text/html; charset=utf-8' },
    body: `<!doctype html><html><head><title>${message}</title></head><body><h1>${message}</h1></body></html>`,
  };
}

export const handler = async (event) => {
  const token = event.queryStringParameters?.token;
  if (!token) return page(400, 'This link has no approval token.');
  try {
    await sfn.send(new SendTaskSuccessCommand({
      taskToken: token,
      output: JSON.stringify({ approved: true, approvedAt: new Date().toISOString() }),
    }));
  } catch (error) {
    if (GONE.has(error.name)) return page(410, 'This request was already decided or has expired.');
    throw error;
  }
  return page(200, 'Approved. The request is being processed.');
};
