// One story = one pawmock URL. `parameters.pawmock` says what pawmock plays; the loader
// in .storybook/preview.js turns it into the URL (with a fresh `run` label per render)
// and the render below connects the chat view to it.
import { createChat } from '../src/chat.js';

export default {
  title: 'Chat',
  render: (args, { loaded }) => createChat({ ...args, ...loaded.pawmock }),
  // The dashboard waits 1 s, 2 s, 4 s…; half of that keeps the reconnect stories short.
  args: { backoff: 500 },
};

// The questions each bundled scenario is written to answer (a pinned scenario answers
// anything, but these read naturally).
const ASK = {
  hello: 'hello',
  longMarkdown: 'How do I add retries with exponential backoff to a Python HTTP client?',
  toolCall: "What's new in Python 3.13?",
  toolError: 'What port does the API server listen on?',
  errorMidStream: 'How do database indexes speed up queries?',
};

const story = (pawmock, prompt, extra = {}) => ({ parameters: { pawmock }, args: { prompt }, ...extra });

// What a conversation looks like, played at the scenario's own pace.
export const PlainAnswer = story({ scenario: 'hello' }, ASK.hello);
export const LongMarkdownInstant = story({ scenario: 'long-markdown', speed: 0 }, ASK.longMarkdown);
export const ToolCall = story({ scenario: 'tool-call' }, ASK.toolCall);
export const FailingTool = story({ scenario: 'tool-error' }, ASK.toolError);
export const ErrorMidAnswer = story({ scenario: 'error-mid-stream' }, ASK.errorMidStream);
// The history of session websocket_hello, shown as the dashboard shows a resumed chat.
export const ResumedSession = story({ scenario: 'hello', resumeSession: 'websocket_hello' }, '');

// Frozen: the turn plays (instantly) up to a marker of the scenario and holds there, so a
// screenshot of it is the same every time.
export const PlainAnswerFrozen = story({ scenario: 'hello', speed: 0, freeze: 'mid-answer' }, ASK.hello);
export const LongMarkdownFrozen = story({ scenario: 'long-markdown', speed: 0, freeze: 'mid-answer' }, ASK.longMarkdown);
export const ToolCallFrozen = story({ scenario: 'tool-call', speed: 0, freeze: 'after-tool' }, ASK.toolCall);
export const FailingToolFrozen = story({ scenario: 'tool-error', speed: 0, freeze: 'after-tool' }, ASK.toolError);
export const ErrorMidAnswerFrozen = story({ scenario: 'error-mid-stream', speed: 0, freeze: 'mid-answer' }, ASK.errorMidStream);
export const ResumedSessionFrozen = story(
  { scenario: 'hello', resumeSession: 'websocket_hello', speed: 0, freeze: 'mid-answer' },
  ASK.hello,
);

// One story per bundled chaos profile (recordings/chaos/).
export const ChaosFlakyNetwork = story({ scenario: 'hello', chaos: 'flaky-network' }, ASK.hello);
export const ChaosDisconnectMidStream = story({ scenario: 'long-markdown', chaos: 'disconnect-mid-stream' }, ASK.longMarkdown);
export const ChaosServerError = story({ scenario: 'tool-call', chaos: 'server-error' }, ASK.toolCall);
export const ChaosAuthRejected = story({ scenario: 'hello', chaos: 'auth-rejected' }, ASK.hello);
export const ChaosHandshake403 = story({ scenario: 'hello', chaos: 'handshake-403' }, ASK.hello);
export const ChaosRateLimited = story({ scenario: 'hello', chaos: 'rate-limited' }, ASK.hello);
export const ChaosMalformedFrames = story({ scenario: 'long-markdown', chaos: 'malformed-frames' }, ASK.longMarkdown);
export const ChaosSlowTools = story({ scenario: 'tool-call', speed: 0, chaos: 'slow-tools' }, ASK.toolCall);
export const ChaosStall = story({ scenario: 'long-markdown', chaos: 'stall' }, ASK.longMarkdown);
export const ChaosReconnectStorm = story({ scenario: 'hello', chaos: 'reconnect-storm' }, ASK.hello);
