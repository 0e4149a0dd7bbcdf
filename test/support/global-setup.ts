// Placeholder until the server harness lands: pure tests need no servers.
export default function setup(): void {}
