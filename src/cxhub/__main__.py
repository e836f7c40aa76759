from cxhub.cli.main import main

main()
