package app

// LockFile in the data directory is held (flock) by the goldenpath that uses the directory and holds its
// process id. Two programs on one data directory would each keep state the other does not see — the
// work queue's leases, git's ref locks, the delivery's pins — so the second is refused.
const LockFile = "goldenpath.lock"
