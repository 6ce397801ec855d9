"""What the three layers share: paths, the database's set-up, the network guard, factories, the
chat driver, the fuzzer's update generator and the outbox dispatcher's harness."""
