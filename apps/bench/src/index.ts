// Public surface of the bench app, filled in by its issue.
export {};
