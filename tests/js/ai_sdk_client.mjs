// The Vercel AI SDK (ai + @ai-sdk/openai, Responses API) against the gateway. Prints one JSON summary.
// Usage: node ai_sdk_client.mjs <gateway base URL> <model> [slow]
// With "slow", only one stream of the echo prompt "slow!" (its upstream waits before the first event).
import { generateText, streamText, tool, stepCountIs } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { z } from "zod";

const [baseURL, model, mode] = process.argv.slice(2);
const openai = createOpenAI({ baseURL: `${baseURL}/v1`, apiKey: "unused" });
const summary = {};

if (mode === "slow") {
  const slow = streamText({ model: openai.responses(model), prompt: "slow!" });
  const errors = [];
  for await (const part of slow.fullStream) { if (part.type === "error") errors.push(String(part.error)); }
  console.log(JSON.stringify({ streamed: await slow.text, finishReason: await slow.finishReason, errors }));
  process.exit(0);
}

const first = await generateText({ model: openai.responses(model), system: "Be brief.", prompt: "hello ai sdk" });
summary.text = first.text;
summary.usage = first.usage.totalTokens;

const streamed = streamText({ model: openai.responses(model), prompt: "stream these words" });
let deltas = 0;
for await (const part of streamed.textStream) { if (part) deltas += 1; }
summary.streamed = await streamed.text;
summary.deltas = deltas;

// A second turn: the AI SDK replays the earlier assistant turn as an item_reference (store defaults to true).
const history = [{ role: "user", content: "hello ai sdk" }, ...first.response.messages,
                 { role: "user", content: "history?" }];
const second = await generateText({ model: openai.responses(model), messages: history });
summary.history = second.text;
summary.sentItemReference = JSON.stringify(second.request.body ?? "").includes("item_reference");

const calls = [];
const withTools = await generateText({
  model: openai.responses(model),
  prompt: "Paris",
  tools: { get_weather: tool({ description: "Weather for a city", inputSchema: z.object({ text: z.string() }),
                               execute: async ({ text }) => { calls.push(text); return "sunny"; } }) },
  stopWhen: stepCountIs(3),
});
summary.toolCalls = calls;
summary.afterTools = withTools.text;
console.log(JSON.stringify(summary));
