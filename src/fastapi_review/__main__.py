from fastapi_review.cli import main

raise SystemExit(main())
