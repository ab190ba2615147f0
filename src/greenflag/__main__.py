from greenflag.cli import main

main()
