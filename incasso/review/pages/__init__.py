"""The pages of the staff web app, one module each; incasso.review.web includes their routers."""
