from clearway_client.cli import main

main()
