from clearway.cli import main

main()
