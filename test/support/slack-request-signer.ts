// Moved to src/sandbox/slack-stand-in/ with the fake Web API: the sandbox signs its requests the same way.
export * from '../../src/sandbox/slack-stand-in/request-signer';
