"""The benchmark suite (bench/run.sh): the hub against its peers. Not part of the tests."""
