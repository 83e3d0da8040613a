from probe.testing.server import main

main()
