// Drives the catcher with the published `mailpit-api` client, one call per line of output (JSON), so that the
// Python side can check each answer field by field. Usage: node mailpit_calls.mjs BASE_URL MARKER
// The catcher holds, before this runs: a message with an attachment, an inline image and a link to BASE_URL
// (subject "MARKER attachment"), and a plain one ("MARKER plain").
import { MailpitClient } from "mailpit-api";

const [baseURL, marker] = process.argv.slice(2);
const mailpit = new MailpitClient(baseURL);
const results = {};

async function call(name, fn) {
  try {
    let result = await fn();
    if (result instanceof Blob) {
      const bytes = Buffer.from(await result.arrayBuffer());
      result = { blobType: result.type, base64: bytes.toString("base64") };
    }
    results[name] = { ok: true, result };
  } catch (error) {
    results[name] = { ok: false, error: String(error.message || error) };
  }
  return results[name].result;
}

await call("getInfo", () => mailpit.getInfo());
await call("getConfiguration", () => mailpit.getConfiguration());
await call("listMessages", () => mailpit.listMessages(0, 50));
const found = await call("searchMessages", () => mailpit.searchMessages({ query: `subject:"${marker} attachment"` }));
const id = found?.messages?.[0]?.ID;
const plain = (await call("searchPlain", () => mailpit.searchMessages({ query: `"${marker} plain"` })))?.messages?.[0]?.ID;
const message = await call("getMessageSummary", () => mailpit.getMessageSummary(id));
await call("getMessageSummaryLatest", () => mailpit.getMessageSummary());
await call("getMessageHeaders", () => mailpit.getMessageHeaders(id));
await call("getMessageSource", () => mailpit.getMessageSource(id));
await call("getMessageAttachment", () => mailpit.getMessageAttachment(id, message.Attachments[0].PartID));
await call("getInlinePart", () => mailpit.getMessageAttachment(id, message.Inline[0].PartID));
await call("renderMessageHTML", () => mailpit.renderMessageHTML(id));
await call("renderMessageText", () => mailpit.renderMessageText(id));
await call("linkCheck", () => mailpit.linkCheck(id));
await call("linkCheckFollow", () => mailpit.linkCheck(id, true));
await call("setReadStatusUnreadByIDs", () => mailpit.setReadStatus({ IDs: [id], Read: false }));
await call("searchUnread", () => mailpit.searchMessages({ query: `is:unread subject:"${marker} attachment"` }));
await call("setReadStatusBySearch", () => mailpit.setReadStatus({ Search: `subject:"${marker}"`, Read: true }));
await call("searchReadAfterSearch", () => mailpit.searchMessages({ query: `is:read "${marker}"` }));
await call("searchAfterWithTz", () => mailpit.searchMessages({ query: `after:2000-01-01 "${marker}"`,
  tz: "Pacific/Auckland" }));
await call("setTags", () => mailpit.setTags({ IDs: [id, plain], Tags: ["Compat One", "two"] }));
await call("getTags", () => mailpit.getTags());
await call("searchByTag", () => mailpit.searchMessages({ query: 'tag:"Compat One"' }));
await call("renameTag", () => mailpit.renameTag("Compat One", "Compat 1"));
await call("getTagsRenamed", () => mailpit.getTags());
await call("deleteTag", () => mailpit.deleteTag("two"));
await call("getTagsAfterDelete", () => mailpit.getTags());
const sent = await call("sendMessage", () => mailpit.sendMessage({
  From: { Email: "sender@example.com", Name: "Sender" },
  To: [{ Email: "to@example.com", Name: "To" }],
  Cc: [{ Email: "cc@example.com" }],
  Bcc: ["hidden@example.com"],
  ReplyTo: [{ Email: "reply@example.com" }],
  Subject: `${marker} sent`,
  Text: "sent text",
  HTML: "<p>sent <b>html</b></p>",
  Headers: { "X-Compat": "yes" },
  Tags: ["sent-tag"],
  Attachments: [{ Content: Buffer.from("hello attachment").toString("base64"), Filename: "hello.txt" }],
}));
await call("getSent", () => mailpit.getMessageSummary(sent.ID));
await call("waitForMessage", () => mailpit.waitForMessage({ query: `"${marker} sent"` }, { timeout: 5000 }));
await call("deleteMessagesBySearch", () => mailpit.deleteMessagesBySearch({ query: `"${marker} sent"` }));
await call("searchAfterDeleteBySearch", () => mailpit.searchMessages({ query: `"${marker} sent"` }));
await call("deleteMessagesByIDs", () => mailpit.deleteMessages({ IDs: [plain] }));
await call("searchAfterDeleteByIDs", () => mailpit.searchMessages({ query: `"${marker} plain"` }));
await call("htmlCheck", () => mailpit.htmlCheck(id));
await call("spamAssassinCheck", () => mailpit.spamAssassinCheck(id));
await call("getChaosTriggers", () => mailpit.getChaosTriggers());
await call("setReadStatusAll", () => mailpit.setReadStatus({ Read: true }));
await call("infoAfter", () => mailpit.getInfo());
await call("deleteAll", () => mailpit.deleteMessages());
await call("listAfterDeleteAll", () => mailpit.listMessages());

console.log(JSON.stringify(results));
