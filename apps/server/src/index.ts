// Public surface of the server app, filled in by its issue.
export {};
