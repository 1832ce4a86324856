from elementafeeds.cli.app import main

main()
